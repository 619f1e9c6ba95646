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
    if (found) found.focus();
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

  let zoom = 1;
  function setZoom(step) {
    zoom = Math.max(0, Math.min(3, zoom + step));
    tree.className = "tree zoom-" + zoom;
  }
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(1));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(-1));

  load(null).then((people) => {
    people.forEach((person) => root.appendChild(item(person)));
    tree.dataset.ready = "true";
  });
})();
