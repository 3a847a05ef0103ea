import { describe, expect, it } from 'vitest';
import { cameraPath, planCamera } from '../../src/providers/local/camera.ts';
import { chooseAudioBed } from '../../src/providers/local/audio-bed.ts';

describe('camera vocabulary', () => {
  const cases: [string, string[]][] = [
    ['Zoom in on the castle', ['zoom_in']],
    ['push in slowly', ['zoom_in']],
    ['the camera pulls back to reveal the valley', ['zoom_out']],
    ['ZOOM OUT', ['zoom_out']],
    ['dolly forward through the corridor', ['dolly_in']],
    ['dolly out', ['dolly_out']],
    ['pan left across the skyline', ['pan_left']],
    ['panning to the right', ['pan_right']],
    ['tilt up to the sky', ['tilt_up']],
    ['tilting down', ['tilt_down']],
    ['slow orbit around the statue', ['orbit_right']],
    ['rotate counterclockwise', ['orbit_left']],
    ['handheld shot', ['handheld']],
    ['shaky cam', ['handheld']],
    ['static shot of a lake', ['static']],
    ['locked-off, then zoom in', ['static']],
    ['slow push in while panning left', ['zoom_in', 'pan_left']],
    ['pan right and tilt up, handheld', ['pan_right', 'tilt_up', 'handheld']],
  ];
  for (const [prompt, moves] of cases) {
    it(`"${prompt}" → ${moves.join(' + ')}`, () => {
      const p = planCamera(prompt);
      expect(p.moves).toEqual(moves);
      expect(p.source).toBe('prompt');
    });
  }

  it('reads speed words', () => {
    expect(planCamera('slow zoom in').speed).toBe('slow');
    expect(planCamera('fast pan left').speed).toBe('fast');
    expect(planCamera('pan left').speed).toBe('normal');
  });

  it('reads looks', () => {
    expect(planCamera('warm golden light, zoom in').looks).toEqual(['warm']);
    expect(planCamera('cold winter morning').looks).toEqual(['cold']);
    expect(planCamera('black and white, fade in, fade out').looks).toEqual(['black_and_white', 'fade_in', 'fade_out']);
  });

  it('gives unknown prompts a tasteful default move', () => {
    expect(planCamera('a red apple on a table')).toMatchObject({ moves: ['zoom_in'], speed: 'slow', source: 'default' });
  });

  it('lets the negative prompt steer away from a move it names', () => {
    const p = planCamera('zoom in and pan left', 'no zooming');
    expect(p.moves).toEqual(['pan_left']);
    expect(p.avoided).toEqual(['zoom_in']);
    expect(planCamera('a red apple', 'zoom').moves).toEqual(['pan_right']);
    expect(planCamera('handheld pan right', 'camera shake').moves).toEqual(['pan_right']);
  });
});

describe('camera paths: where each move ends (every move starts at the framed picture)', () => {
  const end = (prompt: string) => cameraPath(planCamera(prompt));
  it('static ends where it starts', () => {
    expect(end('static shot')).toEqual({ zoom: 1, x: 0, y: 0, rotate: 0, drift: 0 });
  });
  it('each move goes its own way: in/out, left/right, up/down, turn, drift', () => {
    expect(end('zoom in').zoom).toBeGreaterThan(1);
    expect(end('zoom out').zoom).toBeLessThan(1); // a pull back past the picture's edges
    expect(end('dolly in').zoom).toBeGreaterThan(end('zoom in').zoom);
    expect(end('dolly out').zoom).toBeLessThan(end('zoom out').zoom);
    expect(end('pan left').x).toBeLessThan(0);
    expect(end('pan right').x).toBeGreaterThan(0);
    expect(end('tilt up').y).toBeLessThan(0);
    expect(end('tilt down').y).toBeGreaterThan(0);
    expect(end('orbit left').rotate).toBeLessThan(0);
    expect(end('orbit right').rotate).toBeGreaterThan(0);
    expect(end('handheld').drift).toBeGreaterThan(0);
  });
  it('speed scales every move', () => {
    expect(end('fast pan right').x).toBeCloseTo(end('pan right').x * 1.6, 9);
    expect(end('slow handheld').drift).toBeCloseTo(end('handheld').drift * 0.6, 9);
    expect(end('dramatic zoom in').zoom - 1).toBeCloseTo((end('zoom in').zoom - 1) * 1.6, 9);
  });
});

describe('audio beds', () => {
  it('are chosen from prompt words, first mention wins', () => {
    expect(chooseAudioBed('heavy rain on a window')).toBe('rain');
    expect(chooseAudioBed('waves on the beach')).toBe('sea');
    expect(chooseAudioBed('wind over the dunes')).toBe('wind');
    expect(chooseAudioBed('city traffic at night, then rain')).toBe('city');
    expect(chooseAudioBed('a campfire')).toBe('fire');
    expect(chooseAudioBed('a red apple')).toBe('ambient');
  });
});
