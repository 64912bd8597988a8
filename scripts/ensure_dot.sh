#!/bin/sh
# Make sure the graphviz `dot` program (a system package, not a Python one) is present.
# As root with apt-get it is installed; otherwise this says what to run and carries on:
# everything but rendering pictures works without it (DOT text is always available).
if command -v dot >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the graphviz 'dot' program with apt-get ..."
    if apt-get install -y -q graphviz >/dev/null 2>&1 || \
       { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q graphviz >/dev/null 2>&1; }; then
        exit 0
    fi
fi
cat <<'MSG'
NOTE: the graphviz 'dot' program is missing, so graphs are written as DOT text only
      (no SVG/PNG) and the tests that render pictures are skipped. To install it:
        Debian/Ubuntu:  sudo apt-get install graphviz
        macOS:          brew install graphviz
        conda:          conda install -c conda-forge graphviz
MSG
exit 0
