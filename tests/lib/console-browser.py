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
  MODE users:   log in, the dashboard shows GlobalSign's last error (a
                refused login) with its fix, the users page, add a viewer with the form, see
                it listed, remove it through the confirmation page, see
                it gone (FRAME_URL unused: "-").
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


def users_mode(d, base, outdir, user, password):
    """The users page (README "Admin web console", Users): add a viewer,
    see it, remove it after the confirmation page."""
    def names():
        return [r.find_elements(By.TAG_NAME, "td")[0].text
                for r in d.find_elements(By.CSS_SELECTOR, "#users tr")
                if r.find_elements(By.TAG_NAME, "td")]

    login(d, base, user, password)
    # The dashboard's GlobalSign status: the case made the last call fail
    # with a refused login (-4001).
    fix = d.find_element(By.ID, "epki-fix").text
    if "wrong API user or password" not in fix:
        fail("the dashboard shows no fix for the last error: %r" % fix)
    shot(d, outdir, "00-dashboard-epki-error")
    console_errors(d, "dashboard")
    d.find_element(By.LINK_TEXT, "Users").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/users"),
             "the navigation bar did not lead to the users page")
    shot(d, outdir, "01-users")
    console_errors(d, "users page")
    if user + " (you)" not in names():
        fail("the admin is not listed: %r" % names())
    form = d.find_element(By.ID, "add-user")
    form.find_element(By.NAME, "name").send_keys("browser-viewer")
    form.find_element(By.NAME, "password").send_keys("viewer pw")
    form.find_element(By.NAME, "password2").send_keys("viewer pw")
    form.find_element(By.CSS_SELECTOR,
                      "select[name=role] option[value=viewer]").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(d, lambda d: "done=added" in d.current_url,
             "adding a user did not come back to the list")
    if "browser-viewer" not in names():
        fail("the new user is not listed: %r" % names())
    shot(d, outdir, "02-user-added")
    console_errors(d, "user added")
    row = [r for r in d.find_elements(By.CSS_SELECTOR, "#users tr")
           if r.find_elements(By.TAG_NAME, "td") and
           r.find_elements(By.TAG_NAME, "td")[0].text == "browser-viewer"][0]
    if "viewer" not in row.text:
        fail("the new user's role is not viewer: " + row.text)
    row.find_element(By.PARTIAL_LINK_TEXT, "Remove").click()
    wait_for(d, lambda d: "remove=browser-viewer" in d.current_url,
             "no confirmation page")
    if "Remove browser-viewer (viewer)?" not in d.page_source:
        fail("the confirmation page does not name the user")
    shot(d, outdir, "03-remove-confirm")
    console_errors(d, "confirmation page")
    d.find_element(By.CSS_SELECTOR,
                   "main form button[type=submit]").click()
    wait_for(d, lambda d: "done=removed" in d.current_url,
             "removing did not come back to the list")
    if "browser-viewer" in names():
        fail("the removed user is still listed: %r" % names())
    shot(d, outdir, "04-user-removed")
    console_errors(d, "user removed")


def main():
    mode, base, outdir, frame_url, user, password = sys.argv[1:7]
    os.makedirs(outdir, exist_ok=True)
    d = browser()
    try:
        if mode == "main":
            main_mode(d, base, outdir, frame_url, user, password)
        elif mode == "users":
            users_mode(d, base, outdir, user, password)
        else:
            expire_mode(d, base, outdir, user, password)
    finally:
        d.quit()
    print("ok " + mode)


if __name__ == "__main__":
    main()
