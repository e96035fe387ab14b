// The reaction pad: one button per emoji; a tap POSTs the reaction as the logged-in user, then the pad cools
// down for a moment (longer when the server says it is overloaded).

import { sendReaction } from "./api.js";

export const EMOJIS = [
  { alias: "happy", glyph: "😀", label: "happy" },
  { alias: "love", glyph: "❤️", label: "love" },
  { alias: "laugh", glyph: "😂", label: "laughing" },
  { alias: "fire", glyph: "🔥", label: "fire" },
  { alias: "clap", glyph: "👏", label: "clapping" },
  { alias: "wow", glyph: "😮", label: "wow" },
  { alias: "party", glyph: "🎉", label: "party" },
  { alias: "thumbsup", glyph: "👍", label: "thumbs up" },
  { alias: "sad", glyph: "😢", label: "sad" },
  { alias: "angry", glyph: "😠", label: "angry" },
];

const COOLDOWN_MS = 800;

export class Pad {
  constructor({ grid, status, bar, user, channel }) {
    this.channel = channel; // () => the channel being watched: reactions go there
    this.grid = grid;
    this.status = status;
    this.bar = bar;
    this.user = user;
    this.coolingUntil = 0;
    this.sent = 0;
    this.buttons = EMOJIS.map((emoji, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "pad-button";
      button.dataset.emoji = emoji.alias;
      button.setAttribute("aria-label", `Send ${emoji.label}`);
      button.title = `Send ${emoji.label} (key ${(index + 1) % 10})`;
      const glyph = document.createElement("span");
      glyph.className = "glyph";
      glyph.textContent = emoji.glyph;
      const key = document.createElement("kbd");
      key.textContent = String((index + 1) % 10);
      key.setAttribute("aria-hidden", "true");
      button.append(glyph, key);
      button.addEventListener("click", () => this.send(emoji, button));
      grid.append(button);
      return button;
    });
    this.onKey = (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
      if (event.target.closest?.("input, textarea, select")) return;
      const digit = "1234567890".indexOf(event.key);
      if (digit >= 0) this.buttons[digit].click();
    };
    document.addEventListener("keydown", this.onKey);
  }

  destroy() {
    document.removeEventListener("keydown", this.onKey);
    this.grid.replaceChildren();
  }

  async send(emoji, button) {
    if (Date.now() < this.coolingUntil) {
      this.say("Easy — cooling down…");
      return;
    }
    this.cool(COOLDOWN_MS);
    button.classList.remove("pop");
    void button.offsetWidth; // restart the animation
    button.classList.add("pop");
    try {
      await sendReaction(this.user, emoji.alias, this.channel());
      this.sent += 1;
      this.grid.dataset.sent = String(this.sent);
      this.say(`Sent ${emoji.glyph}`);
    } catch (error) {
      if (error.code === "overloaded" || error.status === 429 || error.status === 503) {
        const seconds = error.retryAfter || 2;
        this.cool(seconds * 1000);
        this.say(`The crowd is loud — try again in ${seconds}s`);
      } else {
        this.say(`Not sent: ${error.message}`, true);
      }
    }
  }

  cool(ms) {
    this.coolingUntil = Date.now() + ms;
    this.grid.dataset.cooling = "true";
    for (const b of this.buttons) b.setAttribute("aria-disabled", "true");
    this.bar.style.setProperty("--cooldown", ms + "ms");
    this.bar.classList.remove("running");
    void this.bar.offsetWidth;
    this.bar.classList.add("running");
    clearTimeout(this.coolTimer);
    this.coolTimer = setTimeout(() => {
      delete this.grid.dataset.cooling;
      for (const b of this.buttons) b.removeAttribute("aria-disabled");
      this.bar.classList.remove("running");
    }, ms);
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", isError);
  }
}
