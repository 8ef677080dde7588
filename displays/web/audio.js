/* Hall display voice: an announcement queue that never overlaps (the browser twin of
 * displays/announcements.py AnnouncementQueue) and a Web Audio player of clip sequences.
 *
 * The clip list comes from the hub (/voice/plan), so the Vietnamese reading has one implementation: a recorded
 * announcer's clips (one per phrase, number word, letter: fetched and decoded once, scheduled back to back on the
 * audio clock, no gaps), or the chime and one whole espeak-ng clip of the call. Whole-call clips are new with
 * every call, so decoded buffers are kept for the most recent BUFFERS_KEPT clips only (a hall TV runs for months).
 *
 * What was played is observable: window.motcuaAudioLog (list of {kind, number, counter, recall, repeat, clips})
 * and document.body.dataset.audioPlayed ("A001#1 A001#2 ..."), for tests and for the installer's ears.
 */
"use strict";

window.motcuaAudioLog = [];

const BUFFERS_KEPT = 80;   // > the ~57 clips of a recorded pack: its clips stay decoded

class ClipPlayer {
  constructor({ rate = 1, volume = 1 } = {}) {
    this.rate = rate;
    this.volume = volume;
    this.ctx = null;
    this.buffers = new Map();
  }

  context() {
    if (!this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.ctx = new Ctx();
    }
    return this.ctx;
  }

  get blocked() { return this.ctx !== null && this.ctx.state !== "running"; }

  async unlock() { await this.context().resume(); }

  async buffer(clip) {
    if (this.buffers.has(clip)) {
      const p = this.buffers.get(clip);
      this.buffers.delete(clip);            // most recently used last: a Map keeps insertion order
      this.buffers.set(clip, p);
    } else {
      const p = fetch(`/voice/${clip}.wav`).then((r) => {
        if (!r.ok) throw new Error(`clip ${clip}: HTTP ${r.status}`);
        return r.arrayBuffer();
      }).then((bytes) => this.context().decodeAudioData(bytes));
      p.catch(() => this.buffers.delete(clip));   // a failed fetch is retried next time
      this.buffers.set(clip, p);
      while (this.buffers.size > BUFFERS_KEPT) this.buffers.delete(this.buffers.keys().next().value);
    }
    return this.buffers.get(clip);
  }

  /* Play clips back to back; resolves when the last one ended. */
  async play(clips) {
    const ctx = this.context();
    if (ctx.state !== "running") {
      try { await ctx.resume(); } catch (err) { /* still blocked: see the unlock overlay */ }
    }
    const buffers = await Promise.all(clips.map((c) => this.buffer(c)));
    const gain = ctx.createGain();
    gain.gain.value = this.volume;
    gain.connect(ctx.destination);
    let at = ctx.currentTime + 0.05;
    let last = null;
    for (const buf of buffers) {
      const src = ctx.createBufferSource();
      src.buffer = buf;
      src.playbackRate.value = this.rate;
      src.connect(gain);
      src.start(at);
      at += buf.duration / this.rate;
      last = src;
    }
    const total = (at - ctx.currentTime) * 1000;
    await new Promise((resolve) => {
      // onended is the truth; the timer is a guard so a suspended context can never stall the queue.
      const guard = setTimeout(resolve, total + 3000);
      last.onended = () => { clearTimeout(guard); resolve(); };
    });
  }
}

class AnnouncementQueue {
  constructor(player, { repeats = 2, backlog = 3, onPlay } = {}) {
    this.player = player;
    this.repeats = Math.max(1, repeats);
    this.backlog = Math.max(1, backlog);
    this.pending = [];
    this.playing = false;
    this.seen = [];
    this.onPlay = onPlay || (() => {});
  }

  static key(call) { return `${call.ticket_id}|${call.counter}|${call.recall || 0}`; }

  /* Queue a call; false if this exact call (same ticket, counter, recall count) was already queued. */
  add(call) {
    const key = AnnouncementQueue.key(call);
    if (this.seen.includes(key)) return false;
    this.seen.push(key);
    if (this.seen.length > 200) this.seen.shift();
    const plan = this.plan(call);
    plan.catch(() => {});   // reported when its turn comes
    let repeats = this.repeats;
    // A burst (many counters calling at once): drop pending repeats and say new calls once, so the newest
    // call is heard within a few announcements rather than minutes later.
    if (new Set(this.pending.map((p) => AnnouncementQueue.key(p.call))).size >= this.backlog) {
      this.pending = this.pending.filter((p) => p.repeat === 1);
      repeats = 1;
    }
    for (let r = 1; r <= repeats; r++) this.pending.push({ call, plan, repeat: r });
    log("queued", call, 0, null);
    this.pump();
    return true;
  }

  async plan(call) {
    const q = new URLSearchParams({ number: call.number, counter: call.counter, recall: call.recall || 0 });
    const r = await fetch(`/voice/plan?${q}`);
    if (!r.ok) throw new Error(`plan ${call.number}: HTTP ${r.status}`);
    return r.json();
  }

  async pump() {
    if (this.playing) return;
    const item = this.pending.shift();
    if (!item) return;
    this.playing = true;
    try {
      const plan = await item.plan;
      log("start", item.call, item.repeat, plan.clips);
      this.onPlay(item.call, plan, item.repeat);
      await this.player.play(plan.clips);
      log("end", item.call, item.repeat, plan.clips);
    } catch (err) {
      log("error", item.call, item.repeat, null, String(err));
    } finally {
      this.playing = false;
      this.pump();
    }
  }
}

function log(kind, call, repeat, clips, error) {
  const entry = { kind, number: call.number, counter: call.counter, recall: call.recall || 0, repeat, clips,
                  error: error || null, t: performance.now() };
  window.motcuaAudioLog.push(entry);
  // A hall TV runs for months: keep the recent history only.
  if (window.motcuaAudioLog.length > 1000) window.motcuaAudioLog.splice(0, window.motcuaAudioLog.length - 500);
  if (kind === "end") {
    const played = document.body.dataset.audioPlayed ? document.body.dataset.audioPlayed.split(" ") : [];
    played.push(`${call.number}#${repeat}`);
    document.body.dataset.audioPlayed = played.slice(-50).join(" ");
  }
  document.body.dataset.audioState = kind === "start" ? "playing" : (kind === "queued" ? document.body.dataset.audioState || "idle" : "idle");
}
