# The API page's own end-to-end example (submit, wait, results), unchanged but for BASE and
# the poll interval, which come from the environment. Run by tests/sim/python_example.rs.
import os, time, requests
API_KEY = os.environ["HASDATA_API_KEY"]
H = {"x-api-key": API_KEY, "Content-Type": "application/json"}
BASE = os.environ["BASE"]
POLL = float(os.environ["POLL"])

def submit(slug, body):
    r = requests.post(f"{BASE}/scrapers/{slug}/jobs", headers=H, json=body, timeout=60)
    r.raise_for_status()
    return r.json()["id"]  # numeric job id — not "jobId"

def wait(job_id, poll=POLL, cap=60, timeout=3600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = requests.get(f"{BASE}/scrapers/jobs/{job_id}", headers=H, timeout=60).json()
        if s["status"] in ("finished", "stopped"):
            return s
        time.sleep(poll)
        poll = min(poll * 1.5, cap)
    raise TimeoutError(job_id)

def results(job_id):
    page = 1
    while True:
        body = requests.get(
            f"{BASE}/scrapers/jobs/{job_id}/results",
            headers=H,
            params={"page": page, "limit": 100},
            timeout=120,
        ).json()
        for row in body["data"]:
            yield row["data"]  # double-wrapped — see below
        if body["meta"]["currentPage"] >= body["meta"]["lastPage"]:
            return
        page += 1

import json
job = submit("contacts", {"urls": ["https://example.com/about", "https://example.com/team"]})
status = wait(job)
rows = list(results(job))
print(json.dumps({"id": job, "status": status["status"], "rows": rows}))
