#!/usr/bin/python3
"""Drives the admin web console (README "Admin web console") in headless
Chromium through Selenium, for tests/integration/cases/console-browser.sh.

usage: console-browser.py MODE BASE OUTDIR FRAME_URL USER PASSWORD
  MODE main:    log in, the dashboard, no console errors, a form posted
                without its CSRF token is 403, the console inside an
                iframe does not load, log out.
  MODE expire:  log in, then reload until the session's end sends the
                browser to the login page (the gateway runs with a short
                [console] absolute_seconds).
  MODE enrollments: search, a transaction's history, the refused
                requests (FRAME_URL: the transactionID to open).
Screenshots go to OUTDIR. Exits 0 when everything held, else prints
FAIL: and exits 1.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1200,900"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=opts)


def wait_for(d, cond, what):
    """Waits (30 s at most) for a click's navigation to land."""
    try:
        WebDriverWait(d, 30, poll_frequency=0.1).until(cond)
    except TimeoutException:
        fail("%s (at %s)" % (what, d.current_url))


def shot(d, outdir, name):
    d.save_screenshot(os.path.join(outdir, name + ".png"))


def console_errors(d, what):
    bad = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    if bad:
        fail("%s: browser console errors: %r" % (what, bad))


def login(d, base, user, password):
    d.get(base + "/ui/")
    if not d.current_url.endswith("/ui/login"):
        fail("not sent to the login page: " + d.current_url)
    d.find_element(By.NAME, "user").send_keys(user)
    d.find_element(By.NAME, "password").send_keys(password)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/"),
             "login did not lead to the dashboard")


def main_mode(d, base, outdir, frame_url, user, password):
    d.get(base + "/ui/login")
    shot(d, outdir, "01-login")
    console_errors(d, "login page")
    login(d, base, user, password)
    if "Dashboard" not in d.title or not d.find_elements(By.TAG_NAME, "svg"):
        fail("no dashboard with its chart: " + d.title)
    cells = [td.text for td in d.find_elements(By.TAG_NAME, "td")]
    if "browser <b>one</b>" not in cells or \
            d.find_elements(By.CSS_SELECTOR, "td b"):
        fail("a CN holding markup was not shown as text: %r" % cells)
    shot(d, outdir, "02-dashboard")
    console_errors(d, "dashboard")
    # The logout form without its CSRF token: 403, still logged in.
    d.execute_script(
        "document.querySelector('form[action=\"/ui/logout\"] "
        "input[name=csrf]').remove();")
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/logout'] button").click()
    wait_for(d, lambda d: "CSRF token is missing or wrong" in d.page_source,
             "a form without its CSRF token was not refused")
    shot(d, outdir, "03-csrf-refused")
    d.get_log("browser")  # the 403 is logged as a failed load: expected
    d.get(base + "/ui/")
    if not d.current_url.endswith("/ui/"):
        fail("the refused logout ended the session")
    # A foreign page framing the console: the frame must not load it.
    d.get(frame_url)
    frame = d.find_element(By.TAG_NAME, "iframe")
    shot(d, outdir, "04-framed")
    d.switch_to.frame(frame)
    framed = d.find_elements(By.NAME, "password") + \
        d.find_elements(By.TAG_NAME, "svg")
    d.switch_to.default_content()
    if framed:
        fail("the console loaded inside an iframe")
    d.get_log("browser")  # the refused frame is logged: expected
    # Log out with the form as it is.
    d.get(base + "/ui/")
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/logout'] button").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/login"),
             "logout did not lead to the login page")
    shot(d, outdir, "05-logged-out")
    console_errors(d, "logout")
    d.get(base + "/ui/")
    if not d.current_url.endswith("/ui/login"):
        fail("the dashboard still opens after logout")


def expire_mode(d, base, outdir, user, password):
    login(d, base, user, password)
    for _ in range(200):
        d.get(base + "/ui/")
        if d.current_url.endswith("/ui/login"):
            shot(d, outdir, "06-expired-to-login")
            console_errors(d, "expired session")
            return
        time.sleep(0.2)
    fail("the session did not expire")


def enrollments_mode(d, base, outdir, txid, user, password):
    """MODE enrollments: log in, the Enrollments page from the navigation
    bar, a search by CN prefix, the transaction's page with its history,
    the refused requests (FRAME_URL is the transactionID to find)."""
    login(d, base, user, password)
    d.find_element(By.LINK_TEXT, "Enrollments").click()
    wait_for(d, lambda d: "/ui/enrollments" in d.current_url,
             "the navigation bar did not lead to Enrollments")
    d.find_element(By.NAME, "cn").send_keys("browser <b>")
    d.find_element(By.CSS_SELECTOR, "main form button").click()
    wait_for(d, lambda d: "cn=" in d.current_url, "the search did not run")
    cells = [td.text for td in d.find_elements(By.TAG_NAME, "td")]
    if "browser <b>one</b>" not in cells or \
            d.find_elements(By.CSS_SELECTOR, "td b"):
        fail("search: the CN holding markup is missing or not text: %r"
             % cells)
    shot(d, outdir, "enrollments-01-search")
    console_errors(d, "enrollments search")
    d.find_element(By.LINK_TEXT, txid).click()
    wait_for(d, lambda d: "History" in d.page_source,
             "the transaction's page did not open")
    for kind in ("admitted", "ordered", "issued", "delivered"):
        if kind not in [td.text for td in d.find_elements(By.TAG_NAME, "td")]:
            fail("the history has no %s event" % kind)
    shot(d, outdir, "enrollments-02-detail")
    console_errors(d, "enrollment detail")
    d.find_element(By.LINK_TEXT, "Enrollments").click()
    wait_for(d, lambda d: d.find_elements(By.NAME, "state"),
             "back to Enrollments")
    d.find_element(By.CSS_SELECTOR, "option[value=refused]").click()
    d.find_element(By.CSS_SELECTOR, "main form button").click()
    wait_for(d, lambda d: "state=refused" in d.current_url,
             "the refused search did not run")
    if "unknown challenge" not in d.page_source:
        fail("the refused request is not listed")
    shot(d, outdir, "enrollments-03-refused")
    console_errors(d, "refused requests")


def main():
    mode, base, outdir, frame_url, user, password = sys.argv[1:7]
    os.makedirs(outdir, exist_ok=True)
    d = browser()
    try:
        if mode == "main":
            main_mode(d, base, outdir, frame_url, user, password)
        elif mode == "enrollments":
            enrollments_mode(d, base, outdir, frame_url, user, password)
        else:
            expire_mode(d, base, outdir, user, password)
    finally:
        d.quit()
    print("ok " + mode)


if __name__ == "__main__":
    main()
