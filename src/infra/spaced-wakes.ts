/**
 * Wake-ups spaced at least `gapMs` after the last round started: a request
 * inside the gap sets one timer for the gap's end instead of waking now, so
 * none is lost and rounds come at most 1000/gapMs times a second however
 * often something asks. `now` is the clock rounds are stamped with.
 */
export function spacedWakes(wake: () => void, now: () => number, gapMs: number) {
  let lastRoundAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  return {
    /** A round starts: the gap counts from here. */
    roundStarted() {
      lastRoundAt = now();
    },
    /** Wake now (true: the caller wakes) or at the gap's end (false: a timer will). */
    request(): boolean {
      const since = now() - lastRoundAt;
      if (since >= gapMs) return true;
      if (!timer) {
        timer = setTimeout(() => { timer = undefined; wake(); }, Math.min(gapMs, gapMs - since));
        timer.unref();
      }
      return false;
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
