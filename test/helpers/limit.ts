// At most `n` target programs at a time within one test file: the machine has two cores, and a
// starved target's growth looks bounded (or its leak goes unjudged).

/** A runner that lets at most `n` of the functions it is given run at once, the rest in turn. */
export function limiter(n = 2): <T>(f: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await f();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
