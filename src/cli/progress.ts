// A progress line for long work, on a terminal only: piped output stays clean for scripts.

export function terminalProgress(what: string, stream: NodeJS.WriteStream = process.stderr) {
  const live = stream.isTTY === true;
  let shown = false;
  return {
    update(count: number) {
      if (!live) return;
      stream.write(`\r${what} ${count.toLocaleString('en-US')}…`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
