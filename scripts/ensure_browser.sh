#!/bin/sh
# Make sure a headless browser (Chromium and its WebDriver, system packages) is present
# for the test of the step-through page (tests/autograd_core/viz/test_steps_browser.py).
# As root with apt-get it installs Debian's chromium and chromium-driver; otherwise it
# says what to run and carries on: that one test then skips, saying why.
if command -v chromedriver >/dev/null 2>&1 && \
   { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium and chromium-driver with apt-get ..."
    if apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
       { apt-get update -q >/dev/null 2>&1 && \
         apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; then
        exit 0
    fi
fi
cat <<'MSG'
NOTE: Chromium and/or its driver (chromedriver) are missing, so the browser test of the
      step-through page is skipped. To install them:
        Debian/Ubuntu:  sudo apt-get install chromium chromium-driver
        macOS:          brew install --cask chromium && brew install chromedriver
MSG
exit 0
