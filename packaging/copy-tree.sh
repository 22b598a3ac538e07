#!/bin/bash
# copy-tree.sh TOP DEST: copies the source tree at TOP to DEST for a package
# build: in a git checkout the tracked and untracked-but-not-ignored files
# (what a clone with your changes would hold; never a build directory),
# otherwise everything but build*/ and .git. Used by build-deb.sh and
# build-rpm.sh.
set -euo pipefail
top=$1 dest=$2
mkdir -p "$dest"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard) |
        while IFS= read -r -d '' f; do
            [ -e "$top/$f" ] || [ -L "$top/$f" ] || continue  # deleted, not committed yet
            mkdir -p "$dest/$(dirname "$f")"
            cp -a "$top/$f" "$dest/$f"
        done
else
    tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dest" -xf -
fi
