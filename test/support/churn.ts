/**
 * A writer that never stops changing a directory, as a busy bot does while its level-0 is read: it
 * creates, appends, truncates, renames (files and a directory) and deletes files, sets one file's mtime
 * back with `touch -d` (only its ctime tells it changed), splits and rejoins a hardlink pair, extends a
 * sparse file and overwrites the middle of a large one. POSIX sh with busybox or coreutils tools, so the
 * same script runs on the host and inside a FROM-scratch test bot. `$1` is the directory; each round
 * ends by writing its number to `$1/churn/round`, so a test can wait until the writer is under way; the
 * number is written beside it and renamed over it, because a reader that caught the file truncated
 * read no round at all.
 */
export const CHURN_SCRIPT = `
set -e
cd "$1"
mkdir -p churn/dir-0
echo pair > churn/ha
ln -f churn/ha churn/hb
echo inside > churn/dir-0/file
: > churn/sparse
i=0
while :; do
  i=$((i + 1))
  echo "new $i" > "churn/new-$i"
  echo "line $i" >> churn/log
  if [ -e "churn/new-$((i - 1))" ]; then mv "churn/new-$((i - 1))" "churn/renamed-$((i - 1))"; fi
  rm -f "churn/renamed-$((i - 3))"
  echo "truncated $i" > churn/trunc
  echo "set back $i" > churn/back
  touch -d "2001-02-03 04:05:06" churn/back
  rm churn/hb
  if [ $((i % 2)) -eq 1 ]; then cp churn/ha churn/hb; else ln churn/ha churn/hb; fi
  echo "pair $i" >> churn/ha
  printf x | dd of=churn/sparse bs=1 seek=$((i * 65536)) conv=notrunc 2>/dev/null
  if [ -e big.bin ]; then printf "round $i" | dd of=big.bin bs=1 seek=$(((i % 700) * 4096)) conv=notrunc 2>/dev/null; fi
  mv "churn/dir-$((i - 1))" "churn/dir-$i"
  echo "$i" > churn/round.next
  mv churn/round.next churn/round
done
`;
