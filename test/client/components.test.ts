// Component tests in jsdom: the histogram's SVG and the first-visit form.
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import Histogram from '../../client/src/components/Histogram.svelte';
import Welcome from '../../client/src/components/Welcome.svelte';

afterEach(() => cleanup());

describe('Histogram.svelte', () => {
  it('draws one bar per bin, colours kept bins, labels the threshold and the total', () => {
    const spec = { min: 0, max: 0.5, bins: 5 };
    const { container, getByRole } = render(Histogram, { counts: [1, 4, 0, 2, 3], spec, threshold: 0.3 });
    const rects = [...container.querySelectorAll('rect')];
    expect(rects).toHaveLength(5);
    expect(rects.map((r) => Number(r.getAttribute('height')))).toEqual([30, 120, 0, 60, 90]);
    expect(rects.map((r) => r.classList.contains('kept'))).toEqual([false, false, false, true, true]);
    expect(getByRole('img').getAttribute('aria-label')).toBe('Similarity histogram of 10 images you scored');
    expect(container.textContent).toContain('keep ≥ 0.3');
    expect(container.querySelector('line')!.getAttribute('x1')).toBe(String((0.3 / 0.5) * 320));
  });

  it('says so when nothing has been scored, and draws no threshold without a model', () => {
    const { container } = render(Histogram, { counts: [0, 0, 0], spec: { min: 0, max: 0.3, bins: 3 }, threshold: null });
    expect(container.textContent).toContain('No images scored yet.');
    expect(container.querySelector('line')).toBeNull();
  });
});

describe('Welcome.svelte', () => {
  const noop = () => {};

  it('explains the page and asks for a nickname on a first visit; nothing starts by itself', () => {
    let started = 0;
    const { getByLabelText, getByRole, container } = render(Welcome, { identity: null, onRegistered: noop, onStart: () => started++, onForget: noop });
    expect(container.textContent).toContain('downloads images from public websites through your connection');
    expect(container.textContent).toContain('sends only the results');
    expect(getByLabelText('Nickname')).toBeTruthy();
    expect(getByRole('button', { name: 'Register and start' })).toBeTruthy();
    expect(started).toBe(0);
  });

  it('shows a plain-words error for a nickname the coordinator would refuse, without calling it', async () => {
    let registered = 0;
    const { getByLabelText, getByRole, findByRole } = render(Welcome, { identity: null, onRegistered: () => registered++, onStart: noop, onForget: noop });
    await fireEvent.input(getByLabelText('Nickname'), { target: { value: 'a b' } });
    await fireEvent.click(getByRole('button', { name: 'Register and start' }));
    const alert = await findByRole('alert');
    expect(alert.textContent).toContain('3 to 30 letters');
    expect(registered).toBe(0);
  });

  it('welcomes a returning volunteer with Start and a way to change nickname', async () => {
    let started = 0;
    let forgot = 0;
    const identity = { id: 1, nickname: 'ada', team: 'lovelace', token: 't' };
    const { getByRole } = render(Welcome, { identity, onRegistered: noop, onStart: () => started++, onForget: () => forgot++ });
    expect(getByRole('heading', { name: 'Welcome back, ada (team lovelace)' })).toBeTruthy();
    await fireEvent.click(getByRole('button', { name: 'Start' }));
    await fireEvent.click(getByRole('button', { name: 'Use another nickname' }));
    expect([started, forgot]).toEqual([1, 1]);
  });
});
