// The console's alerts for a new queued chat or a new message: a short sound, a desktop
// notification (once the agent allowed them), and a line for screen readers. The tab title is
// the console's own (admin.js counts unread and waiting). Text only, never HTML.

/** Alerts closer together than this make one sound. */
const SOUND_GAP_MS = 1500;

/**
 * Alerts for one console: `live` is a status region read by screen readers, `sound` the
 * checkbox that allows the sound, `notify` the button that asks for desktop notifications
 * (shown only while the browser can still ask).
 */
export function createAlerts({ live, sound, notify }) {
  /** @type {AudioContext | null} */
  let audio = null;
  let lastSound = 0;

  const canNotify = typeof globalThis.Notification === "function";
  function renderNotify() {
    notify.hidden = !canNotify || Notification.permission !== "default";
  }
  notify.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } catch {
      // An old browser's callback form, or a refusal: the button tells nothing more.
    }
    renderNotify();
  });
  renderNotify();

  /** Browsers start audio only after a gesture: the first click or key on the page unlocks it. */
  function unlock() {
    if (audio || typeof globalThis.AudioContext !== "function") return;
    try {
      audio = new AudioContext();
    } catch {
      audio = null;
    }
  }
  addEventListener("pointerdown", unlock, { once: true });
  addEventListener("keydown", unlock, { once: true });

  /** Two short tones, made here (no sound file to load). */
  function beep() {
    const now = Date.now();
    if (!sound.checked || !audio || now - lastSound < SOUND_GAP_MS) return;
    lastSound = now;
    try {
      const start = audio.currentTime;
      for (const [i, freq] of [[0, 880], [1, 1320]]) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, start + i * 0.16);
        gain.gain.exponentialRampToValueAtTime(0.2, start + i * 0.16 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.16 + 0.14);
        tone.connect(gain).connect(audio.destination);
        tone.start(start + i * 0.16);
        tone.stop(start + i * 0.16 + 0.15);
      }
    } catch {
      // No audio output: the other alerts still go.
    }
  }

  return {
    /**
     * Raises one alert: `title` and `body` (plain text) in a desktop notification when allowed
     * and the agent is not looking at this tab, the sound, and the screen-reader line. `tag`
     * folds repeated notifications of one conversation into one.
     */
    raise({ title, body, tag }) {
      live.textContent = body ? `${title}: ${body}` : title;
      beep();
      const looking = document.visibilityState === "visible" && document.hasFocus();
      if (!canNotify || Notification.permission !== "granted" || looking) return;
      try {
        const note = new Notification(title, { body, tag });
        note.addEventListener("click", () => {
          globalThis.focus();
          note.close();
        });
      } catch {
        // Some browsers allow notifications only from a service worker: nothing to do here.
      }
    },
  };
}
