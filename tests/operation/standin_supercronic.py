"""A stand-in for supercronic that behaves as it does where a clean stop is concerned: it runs the
crontab's job (at once, not on schedule) in a process group of its own, and on SIGTERM only waits
for the job to end, then exits. It records its arguments in $STANDIN_LOG."""

import os
import signal
import subprocess
import sys
from pathlib import Path

crontab = Path(sys.argv[-1]).read_text().splitlines()
jobs = [line for line in crontab if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
log = Path(os.environ["STANDIN_LOG"])
log.write_text(f"args {sys.argv[1:]}\ncrontab {crontab}\n")
signal.signal(signal.SIGTERM, lambda *_: log.open("a").write("SIGTERM: waiting for the job\n"))
job = subprocess.Popen(["/bin/sh", "-c", " ".join(jobs[0].split()[5:])], start_new_session=True)
code = job.wait()
log.open("a").write(f"job exited {code}\n")
