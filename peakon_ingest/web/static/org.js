"use strict";
// The org map: branches load on demand (/org/children?id=...), one level at a time, so a chart of
// 20,000 people never renders at once. Text goes in with textContent only: nothing is parsed as HTML.
(function () {
  const tree = document.getElementById("tree");
  const root = tree.querySelector("ul");
  const params = new URLSearchParams({ month: tree.dataset.month, driver: tree.dataset.driver });
  const k = tree.dataset.k;

  function label(person) {
    if (person.score === null) return "hidden (fewer than " + k + ")";
    return person.score.toFixed(2);
  }

  function item(person) {
    const li = document.createElement("li");
    li.setAttribute("role", "treeitem");
    li.dataset.id = person.id;
    const box = document.createElement("span");
    box.className = "node " + (person.score === null ? "hidden" : "h" + Math.max(0, Math.min(9, Math.floor(person.score))));
    if (person.reports > 0) {
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "toggle";
      toggle.textContent = "+";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-label", "Expand " + person.name);
      toggle.addEventListener("click", () => expand(li, toggle));
      box.appendChild(toggle);
    }
    const link = document.createElement("a");
    link.href = "/managers/" + encodeURIComponent(person.id);
    link.textContent = person.name;
    box.appendChild(link);
    const info = document.createElement("span");
    info.className = "small";
    info.textContent = (person.department || "") + (person.reports ? " · team " + person.reports + ": " + label(person) : "");
    box.appendChild(info);
    li.appendChild(box);
    return li;
  }

  async function load(id) {
    const query = new URLSearchParams(params);
    if (id !== null) query.set("id", id);
    const reply = await fetch("/org/children?" + query.toString(), { credentials: "same-origin" });
    if (!reply.ok) throw new Error("org: " + reply.status);
    return reply.json();
  }

  async function expand(li, toggle) {
    const open = toggle.getAttribute("aria-expanded") === "true";
    let list = li.querySelector(":scope > ul");
    if (open) {
      list.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "+";
      return;
    }
    if (!list) {
      list = document.createElement("ul");
      list.setAttribute("role", "group");
      (await load(li.dataset.id)).forEach((person) => list.appendChild(item(person)));
      li.appendChild(list);
    }
    list.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = "−";
  }

  async function reveal(chain, id) {
    // Open each manager from the top down to the person found, then focus them.
    for (const step of chain) {
      const li = root.querySelector('li[data-id="' + CSS.escape(step) + '"]');
      const toggle = li && li.querySelector(":scope > .node > .toggle");
      if (toggle && toggle.getAttribute("aria-expanded") !== "true") await expand(li, toggle);
    }
    const found = root.querySelector('li[data-id="' + CSS.escape(id) + '"] a');
    if (found) found.focus({ preventScroll: true });  // focusin pans it into view
  }

  document.getElementById("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = document.getElementById("search").value.trim();
    const results = document.getElementById("search-results");
    results.replaceChildren();
    if (text.length < 2) return;
    const reply = await fetch("/org/search?" + new URLSearchParams({ q: text }).toString(), { credentials: "same-origin" });
    for (const person of await reply.json()) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = person.name + (person.department ? " (" + person.department + ")" : "");
      button.addEventListener("click", () => reveal(person.chain, person.id));
      li.appendChild(button);
      results.appendChild(li);
    }
  });

  // Pan and zoom: the tree is drawn inside #tree (the viewport) and moved with a CSS transform. Drag
  // pans, the wheel zooms about the pointer; the buttons, and keys on the focused viewport (arrows pan,
  // + and - zoom, 0 resets), do the same by keyboard. A node that gets focus is brought into view.
  const ZOOM = [0.25, 4], STEP = 1.25, PAN = 80;
  const view = { x: 0, y: 0, zoom: 1 };
  function show() {
    root.style.transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.zoom + ")";
    document.getElementById("zoom-level").textContent = Math.round(100 * view.zoom) + "%";
  }
  function zoomBy(factor, x, y) {  // about the point (x, y) of the viewport: it stays where it is
    const zoom = Math.max(ZOOM[0], Math.min(ZOOM[1], view.zoom * factor));
    view.x = x - (x - view.x) * zoom / view.zoom;
    view.y = y - (y - view.y) * zoom / view.zoom;
    view.zoom = zoom;
    show();
  }
  function panBy(dx, dy) {
    view.x += dx;
    view.y += dy;
    show();
  }
  function middle() {
    return [tree.clientWidth / 2, tree.clientHeight / 2];
  }
  function reset() {
    Object.assign(view, { x: 0, y: 0, zoom: 1 });
    show();
  }
  document.getElementById("zoom-in").addEventListener("click", () => zoomBy(STEP, ...middle()));
  document.getElementById("zoom-out").addEventListener("click", () => zoomBy(1 / STEP, ...middle()));
  document.getElementById("zoom-reset").addEventListener("click", reset);
  for (const button of document.querySelectorAll("[data-pan]")) {
    const [dx, dy] = button.dataset.pan.split(",").map(Number);
    button.addEventListener("click", () => panBy(dx * PAN, dy * PAN));
  }
  tree.addEventListener("keydown", (event) => {
    if (event.target !== tree) return;  // keys on a node's link or button keep their meaning
    const pans = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (pans[event.key]) panBy(pans[event.key][0] * PAN, pans[event.key][1] * PAN);
    else if (event.key === "+" || event.key === "=") zoomBy(STEP, ...middle());
    else if (event.key === "-") zoomBy(1 / STEP, ...middle());
    else if (event.key === "0") reset();
    else return;
    event.preventDefault();
  });
  tree.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = tree.getBoundingClientRect();
    zoomBy(event.deltaY < 0 ? STEP : 1 / STEP, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  tree.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("a, button")) return;  // those are clicked, not dragged
    drag = { x: event.clientX, y: event.clientY };
    tree.setPointerCapture(event.pointerId);
    tree.classList.add("dragging");
  });
  tree.addEventListener("pointermove", (event) => {
    if (!drag) return;
    panBy(event.clientX - drag.x, event.clientY - drag.y);
    drag = { x: event.clientX, y: event.clientY };
  });
  const stop = () => { drag = null; tree.classList.remove("dragging"); };
  tree.addEventListener("pointerup", stop);
  tree.addEventListener("pointercancel", stop);
  tree.addEventListener("scroll", () => { tree.scrollTop = 0; tree.scrollLeft = 0; });  // focus must not scroll it
  tree.addEventListener("focusin", (event) => {
    if (event.target === tree) return;
    const box = tree.getBoundingClientRect(), seen = event.target.getBoundingClientRect(), margin = 24;
    let dx = 0, dy = 0;
    if (seen.left < box.left + margin) dx = box.left + margin - seen.left;
    else if (seen.right > box.right - margin) dx = Math.max(box.right - margin - seen.right, box.left + margin - seen.left);
    if (seen.top < box.top + margin) dy = box.top + margin - seen.top;
    else if (seen.bottom > box.bottom - margin) dy = box.bottom - margin - seen.bottom;
    if (dx || dy) panBy(dx, dy);
  });
  show();

  load(null).then((people) => {
    people.forEach((person) => root.appendChild(item(person)));
    tree.dataset.ready = "true";
  });
})();
