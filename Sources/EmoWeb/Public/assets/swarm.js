// The emoji swarm: each burst's emojis float up across the stage, each repeated `scaled` times. With
// prefers-reduced-motion, the stage shows a list of recent bursts instead of animating.

const MAX_FLOATING = 160; // emojis on screen at once, whatever the crowd does
const LOG_LENGTH = 8;

export class Swarm {
  constructor({ stage, log, empty }) {
    this.stage = stage;
    this.log = log;
    this.empty = empty;
    this.motion = window.matchMedia("(prefers-reduced-motion: reduce)");
  }

  get reducedMotion() { return this.motion.matches; }

  /** Clears the stage and the log (another channel is being watched). */
  reset() {
    this.stage.replaceChildren();
    this.log.replaceChildren();
    delete this.stage.dataset.seq;
    this.empty.hidden = false;
  }

  show(burst) {
    this.empty.hidden = true;
    this.stage.dataset.seq = burst.seq;
    this.addToLog(burst);
    if (!this.reducedMotion) this.launch(burst);
  }

  launch(burst) {
    const total = burst.emojis.reduce((sum, e) => sum + e.scaled, 0);
    const room = Math.max(0, MAX_FLOATING - this.stage.childElementCount);
    const fraction = total > room ? room / total : 1;
    const fragment = document.createDocumentFragment();
    const rise = Math.max(200, this.stage.clientHeight) + "px";
    for (const emoji of burst.emojis) {
      const copies = fraction === 1 ? emoji.scaled : Math.floor(emoji.scaled * fraction);
      for (let i = 0; i < copies; i++) {
        const node = document.createElement("span");
        node.className = "float";
        node.textContent = emoji.emoji_type;
        node.dataset.seq = burst.seq;
        node.dataset.emoji = emoji.emoji_type;
        node.style.setProperty("--x", (4 + Math.random() * 88).toFixed(1) + "%");
        node.style.setProperty("--drift", (Math.random() * 80 - 40).toFixed(0) + "px");
        node.style.setProperty("--spin", (Math.random() * 50 - 25).toFixed(0) + "deg");
        node.style.setProperty("--delay", (Math.random() * 700).toFixed(0) + "ms");
        node.style.setProperty("--duration", (2600 + Math.random() * 1600).toFixed(0) + "ms");
        node.style.setProperty("--rise", rise);
        node.style.setProperty("--size", (1.6 + Math.random() * 1.4).toFixed(2) + "rem");
        node.addEventListener("animationend", () => node.remove(), { once: true });
        fragment.append(node);
      }
    }
    this.stage.append(fragment);
  }

  addToLog(burst) {
    const item = document.createElement("li");
    item.dataset.seq = burst.seq;
    const time = new Date(burst.window_end).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const label = document.createElement("span");
    label.className = "muted";
    label.textContent = time;
    item.append(label);
    for (const emoji of burst.emojis) {
      const chip = document.createElement("span");
      chip.className = "chip";
      const glyph = document.createElement("span");
      glyph.className = "glyph";
      glyph.textContent = emoji.emoji_type;
      chip.append(glyph, ` ×${emoji.scaled}`);
      chip.title = `${emoji.count} reactions`;
      item.append(chip);
    }
    this.log.prepend(item);
    while (this.log.childElementCount > LOG_LENGTH) this.log.lastElementChild.remove();
  }
}
