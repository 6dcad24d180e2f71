"""Screenshots of every duro page, light and dark, through chromedriver (WebDriver over HTTP).

Start `duro serve` (or `duro demo`) first, then:
    python3 scripts/screenshots.py NAME=URL [NAME=URL ...]
writes NAME-light.png and NAME-dark.png into the current folder (docs/screenshots holds the
ones of the demo, 10 tables, and of `bench/gen_views.py 500`, 500 tables)."""
import base64, json, subprocess, sys, time, urllib.request

def call(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["value"]

driver = subprocess.Popen(["chromedriver", "--port=9515"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)
base = "http://127.0.0.1:9515"
try:
    for theme in ["light", "dark"]:
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--window-size=1400,1000"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"args": args}}}}
        sid = call("POST", base + "/session", caps)["sessionId"]
        s = f"{base}/session/{sid}"
        try:
            for spec in sys.argv[1:]:
                name, url = spec.split("=", 1)
                call("POST", s + "/url", {"url": url})
                call("POST", s + "/execute/sync", {"script": f"localStorage.setItem('duro-theme', '{theme}'); document.documentElement.dataset.theme = '{theme}';", "args": []})
                call("POST", s + "/url", {"url": url})
                time.sleep(2.5)
                png = call("GET", s + "/screenshot")
                out = f"{name}-{theme}.png"
                open(out, "wb").write(base64.b64decode(png))
                print(out)
        finally:
            call("DELETE", s)
finally:
    driver.kill()
