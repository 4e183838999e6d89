/* Arranging the hall map (DeviceManage): "Arrange PCs" turns tiles into
 * handles; a PC dragged to another cell of its zone's grid is stored there
 * (x and y, PATCH /devices/{id}), and the map follows. Pointer events, so
 * mouse, pen and touch all work. */
import { api } from './api.js';
import { state } from './state.js';
import { h } from './util.js';

/** Which track of a grid (columns or rows) a coordinate falls in; past the
 * last one is the next one. */
function track(sizes, gap, offset) {
  let edge = 0;
  for (let i = 0; i < sizes.length; i += 1) {
    edge += sizes[i] + (i ? gap : 0);
    if (offset < edge + gap / 2) return i;
  }
  return sizes.length;
}

const px = (list) => list.split(' ').map(parseFloat).filter(Number.isFinite);

const mapEdit = {
  on: false,
  drag: null,
  onMoved: null,

  /** The toggle for the hall's summary bar. */
  button(rerender) {
    return h('button', {
      type: 'button', id: 'arrange-toggle', class: this.on ? 'primary' : null,
      onclick: () => { this.on = !this.on; document.body.classList.toggle('arranging', this.on); rerender(); },
    }, this.on ? 'Done arranging' : 'Arrange PCs');
  },

  /** Wires the pointer handlers on the hall once. */
  attach(root, onMoved) {
    this.onMoved = onMoved;
    root.addEventListener('pointerdown', (e) => {
      const tile = this.on && e.target.closest('.tile');
      if (!tile) return;
      e.preventDefault();
      tile.setPointerCapture(e.pointerId);
      this.drag = { tile, x: e.clientX, y: e.clientY };
      tile.classList.add('dragging');
    });
    root.addEventListener('pointermove', (e) => {
      const d = this.drag;
      if (!d) return;
      d.tile.style.transform = `translate(${e.clientX - d.x}px, ${e.clientY - d.y}px)`;
    });
    root.addEventListener('pointerup', (e) => this.drop(e));
    root.addEventListener('pointercancel', () => this.cancel());
  },

  cancel() {
    if (!this.drag) return;
    this.drag.tile.style.transform = '';
    this.drag.tile.classList.remove('dragging');
    this.drag = null;
  },

  async drop(e) {
    const d = this.drag;
    if (!d) return;
    this.cancel();
    const grid = d.tile.closest('.zone-grid');
    const rect = grid.getBoundingClientRect();
    const style = getComputedStyle(grid);
    const gap = parseFloat(style.columnGap) || 0;
    const x = track(px(style.gridTemplateColumns), gap, e.clientX - rect.left);
    const y = track(px(style.gridTemplateRows), parseFloat(style.rowGap) || 0, e.clientY - rect.top);
    const id = Number(d.tile.dataset.deviceId);
    const dev = state.devices.get(id);
    if (!dev || (dev.x === x && dev.y === y)) return;
    try {
      const updated = await api.patch(`/devices/${id}`, { x, y });
      state.devices.set(id, { ...dev, ...updated });
      this.onMoved(null);
    } catch (err) {
      this.onMoved(err);
    }
  },
};

export { mapEdit, track };
