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
  MODE challenges: log in, create a challenge with the form, the page of
                its secret with the QR code (its SVG saved as OUTDIR/qr.svg,
                the secret as OUTDIR/secret.txt), fetch the .mobileconfig
                of its link, enroll with $SCEPREQ using the profile's URL and
                Challenge, then see the challenge as used in the list.
  MODE certificates: find, open and revoke a certificate; a viewer's
                attempt is refused (certificates_mode(); more arguments).
  MODE users:   log in, the dashboard shows GlobalSign's last error (a
                refused login) with its fix, the users page, add a viewer with the form, see
                it listed, remove it through the confirmation page, see
                it gone (FRAME_URL unused: "-").
  MODE flow:    an administrator's round trip: log in, create a
                challenge, its .mobileconfig, enroll ($SCEPREQ), find the
                enrollment and its history, revoke its certificate, log out.
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


def challenges_mode(d, base, outdir, user, password):
    import plistlib
    import subprocess
    import urllib.request
    login(d, base, user, password)
    d.find_element(By.LINK_TEXT, "Challenges").click()
    wait_for(d, lambda d: "/ui/challenges" in d.current_url,
             "the Challenges link did not open the page")
    shot(d, outdir, "c01-challenges")
    console_errors(d, "challenges page")
    d.find_element(By.NAME, "cn").send_keys("browser-device")
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/challenges'] button").click()
    wait_for(d, lambda d: "challenge(s) created" in d.page_source,
             "no page of secrets after the create form")
    svg = d.find_element(By.CSS_SELECTOR, "svg.qr")
    if svg.size["width"] < 100:
        fail("the QR code is not drawn: %r" % svg.size)
    shot(d, outdir, "c02-created-qr")
    console_errors(d, "page of secrets")
    secret = d.find_element(By.CSS_SELECTOR, "code.challenge").text
    with open(os.path.join(outdir, "secret.txt"), "w") as f:
        f.write(secret + "\n")
    with open(os.path.join(outdir, "qr.svg"), "w") as f:
        f.write(svg.get_attribute("outerHTML"))
    href = d.find_element(By.CSS_SELECTOR,
                          "a.mobileconfig").get_attribute("href")
    with urllib.request.urlopen(href, timeout=30) as r:
        if r.headers["Content-Type"] != "application/x-apple-aspen-config":
            fail("the link's Content-Type: " + r.headers["Content-Type"])
        prof = plistlib.loads(r.read())
    scep = prof["PayloadContent"][0]["PayloadContent"]
    if scep["Challenge"] != secret:
        fail("the profile's Challenge is not the secret shown")
    key = os.path.join(outdir, "device.key")
    out = subprocess.run([os.environ["SCEPREQ"], "enroll", "--url",
                          scep["URL"], "--key", key, "--cert-out",
                          os.path.join(outdir, "device.pem"),
                          "--challenge", scep["Challenge"], "--cn",
                          "browser-device"], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0 or "status=SUCCESS" not in out.stdout + out.stderr:
        fail("enrollment with the profile's challenge: %s%s" %
             (out.stdout, out.stderr))
    d.get(base + "/ui/challenges?state=used")
    cells = [td.text for td in d.find_elements(By.TAG_NAME, "td")]
    if "browser-device" not in cells or "used" not in cells:
        fail("the challenge is not listed as used: %r" % cells)
    shot(d, outdir, "c03-used")
    console_errors(d, "list of used challenges")


def certificates_mode(d, base, outdir, user, password, extra):
    """MODE certificates (tests/integration/cases/console-browser-
    certificates.sh); extra: CN SERIAL FINGERPRINT VIEWER VIEWER_PASSWORD
    SERIAL2. The admin finds the certificate by CN, opens it, revokes it
    after the confirmation; the viewer sees no revoke button on SERIAL2
    and a POST crafted with the viewer's own CSRF token is refused."""
    cn, serial, fp, viewer, viewer_pw, serial2 = extra[:6]
    login(d, base, user, password)
    d.find_element(By.LINK_TEXT, "Certificates").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/certificates"),
             "the navigation bar did not lead to the certificates")
    shot(d, outdir, "01-certificates")
    console_errors(d, "certificates")
    d.find_element(By.NAME, "cn").send_keys(cn)
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/certificates'] button").click()
    wait_for(d, lambda d: "cn=" in d.current_url, "the search did not run")
    links = [a.text for a in d.find_elements(
        By.CSS_SELECTOR, "td a[href^='/ui/certificates/']")]
    if links != [serial]:
        fail("the search by CN found %r, not %s" % (links, serial))
    shot(d, outdir, "02-found")
    console_errors(d, "search")
    d.find_element(By.LINK_TEXT, serial).click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/certificates/" +
                                                 serial),
             "the serial did not open its page")
    if fp not in d.page_source:
        fail("the detail page lacks the SHA-256 fingerprint " + fp)
    shot(d, outdir, "03-detail")
    console_errors(d, "detail")
    d.find_element(By.XPATH, "//button[starts-with(., 'Revoke')]").click()
    wait_for(d, lambda d: "/revoke" in d.current_url,
             "the revoke button did not open the confirmation")
    d.find_element(By.XPATH, "//select[@name='reason']"
                   "/option[.='keyCompromise']").click()
    shot(d, outdir, "04-confirm")
    console_errors(d, "confirmation")
    d.find_element(By.XPATH,
                   "//button[normalize-space()='Revoke at GlobalSign']"
                   ).click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/certificates/" +
                                                 serial) and
             "REVOKED" in d.page_source,
             "the revocation did not lead back to a REVOKED certificate")
    if "keyCompromise" not in d.page_source:
        fail("the reason chosen is not shown")
    shot(d, outdir, "05-revoked")
    console_errors(d, "revoked")
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/logout'] button").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/login"),
             "logout did not lead to the login page")
    # The viewer: no button, and a crafted POST is refused.
    login(d, base, viewer, viewer_pw)
    d.get(base + "/ui/certificates/" + serial2)
    if "Download PEM" not in d.page_source:
        fail("the viewer does not see the certificate " + serial2)
    if d.find_elements(By.XPATH, "//button[starts-with(., 'Revoke')]") or \
            "/revoke" in d.page_source:
        fail("the viewer sees a way to revoke")
    shot(d, outdir, "06-viewer-detail")
    console_errors(d, "viewer detail")
    d.execute_script(
        "var tok = document.querySelector('input[name=csrf]').value;"
        "var f = document.createElement('form');"
        "f.method = 'post'; f.action = arguments[0];"
        "[['csrf', tok], ['reason', 'keyCompromise']].forEach("
        "function (kv) { var i = document.createElement('input');"
        "i.type = 'hidden'; i.name = kv[0]; i.value = kv[1];"
        "f.appendChild(i); });"
        "document.body.appendChild(f); f.submit();",
        "/ui/certificates/" + serial2 + "/revoke")
    wait_for(d, lambda d: "a viewer can look but not change" in
             d.page_source, "the viewer's crafted POST was not refused")
    shot(d, outdir, "07-viewer-refused")
    d.get_log("browser")  # the 403 is logged as a failed load: expected
    d.get(base + "/ui/certificates/" + serial2)
    if "REVOKED" in d.page_source:
        fail("the viewer's POST revoked " + serial2)


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


def flow_mode(d, base, outdir, user, password):
    """MODE flow: an administrator's round trip (README "Admin web
    console"): log in, create a challenge, fetch the .mobileconfig of its
    one-time link as a phone would (no session), enroll a device with the
    profile's URL and challenge ($SCEPREQ), find the enrollment and its
    history, open its certificate, revoke it after the confirmation, log
    out. A screenshot of every page, no browser console errors. Prints
    the serial revoked."""
    import plistlib
    import subprocess
    import urllib.request
    cn = "flow-device"
    d.get(base + "/ui/login")
    shot(d, outdir, "f01-login")
    console_errors(d, "login page")
    login(d, base, user, password)
    shot(d, outdir, "f02-dashboard")
    console_errors(d, "dashboard")
    d.find_element(By.LINK_TEXT, "Challenges").click()
    wait_for(d, lambda d: "/ui/challenges" in d.current_url,
             "the navigation bar did not lead to Challenges")
    d.find_element(By.NAME, "cn").send_keys(cn)
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/challenges'] button").click()
    wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.qr"),
             "no page of secrets after the create form")
    shot(d, outdir, "f03-challenge")
    console_errors(d, "page of secrets")
    secret = d.find_element(By.CSS_SELECTOR, "code.challenge").text
    href = d.find_element(By.CSS_SELECTOR,
                          "a.mobileconfig").get_attribute("href")
    with urllib.request.urlopen(href, timeout=30) as r:
        prof = plistlib.loads(r.read())
    scep = prof["PayloadContent"][0]["PayloadContent"]
    if scep["Challenge"] != secret:
        fail("the profile's Challenge is not the secret shown")
    out = subprocess.run([os.environ["SCEPREQ"], "enroll", "--url",
                          scep["URL"], "--key",
                          os.path.join(outdir, "device.key"), "--cert-out",
                          os.path.join(outdir, "device.pem"),
                          "--challenge", scep["Challenge"], "--cn", cn],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0 or "status=SUCCESS" not in out.stdout + out.stderr:
        fail("enrollment with the profile: %s%s" % (out.stdout, out.stderr))
    d.find_element(By.LINK_TEXT, "Enrollments").click()
    wait_for(d, lambda d: "/ui/enrollments" in d.current_url,
             "the navigation bar did not lead to Enrollments")
    d.find_element(By.NAME, "cn").send_keys(cn)
    d.find_element(By.CSS_SELECTOR, "main form button").click()
    wait_for(d, lambda d: "cn=" in d.current_url, "the search did not run")
    links = d.find_elements(By.CSS_SELECTOR,
                            "td a[href^='/ui/enrollments/']")
    if len(links) != 1:
        fail("the search for %s found %d enrollments" % (cn, len(links)))
    shot(d, outdir, "f04-enrollments")
    console_errors(d, "enrollments search")
    links[0].click()
    wait_for(d, lambda d: "History" in d.page_source,
             "the enrollment's page did not open")
    kinds = [td.text for td in d.find_elements(By.TAG_NAME, "td")]
    for kind in ("admitted", "ordered", "issued", "delivered"):
        if kind not in kinds:
            fail("the history has no %s event: %r" % (kind, kinds))
    shot(d, outdir, "f05-history")
    console_errors(d, "enrollment's history")
    cert = d.find_element(By.CSS_SELECTOR, "a[href^='/ui/certificates/']")
    serial = cert.text
    cert.click()
    wait_for(d, lambda d: "Download PEM" in d.page_source,
             "the certificate's page did not open")
    shot(d, outdir, "f06-certificate")
    console_errors(d, "certificate")
    d.find_element(By.XPATH, "//button[starts-with(., 'Revoke')]").click()
    wait_for(d, lambda d: "/revoke" in d.current_url,
             "the revoke button did not open the confirmation")
    d.find_element(By.XPATH, "//select[@name='reason']"
                   "/option[.='cessationOfOperation']").click()
    shot(d, outdir, "f07-confirm")
    console_errors(d, "confirmation")
    d.find_element(By.XPATH,
                   "//button[normalize-space()='Revoke at GlobalSign']"
                   ).click()
    wait_for(d, lambda d: "REVOKED" in d.page_source,
             "the revocation did not lead back to a REVOKED certificate")
    shot(d, outdir, "f08-revoked")
    console_errors(d, "revoked")
    d.find_element(By.CSS_SELECTOR,
                   "form[action='/ui/logout'] button").click()
    wait_for(d, lambda d: d.current_url.endswith("/ui/login"),
             "logout did not lead to the login page")
    shot(d, outdir, "f09-logged-out")
    console_errors(d, "logout")
    print("serial " + serial)


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
        elif mode == "flow":
            flow_mode(d, base, outdir, user, password)
        elif mode == "challenges":
            challenges_mode(d, base, outdir, user, password)
        elif mode == "certificates":
            certificates_mode(d, base, outdir, user, password, sys.argv[7:])
        elif mode == "users":
            users_mode(d, base, outdir, user, password)
        elif mode == "enrollments":
            enrollments_mode(d, base, outdir, frame_url, user, password)
        else:
            expire_mode(d, base, outdir, user, password)
    finally:
        d.quit()
    print("ok " + mode)


if __name__ == "__main__":
    main()
