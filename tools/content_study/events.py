from est_base import *

def lip_release_signal(af, astart, times, idx, lf, key='gap', closed_frac=0.2, sigma=2.0):
    """Impulses at lip releases (closed -> opening), sub-frame timed, on the audio grid."""
    n = len(af['speech'])
    g = lf[key]; t = times[idx]
    lo, hi = np.percentile(g, 5), np.percentile(g, 95)
    rng = max(hi - lo, 1e-6)
    closed = g < lo + closed_frac * rng
    sig = np.zeros(n)
    ev = []
    for i in range(1, len(g) - 1):
        if closed[i] and not closed[i + 1] and idx[i + 1] == idx[i] + 1:
            # crossing of the closed threshold, linear between frames i and i+1
            thr = lo + closed_frac * rng
            w = (thr - g[i]) / max(g[i + 1] - g[i], 1e-9)
            te = t[i] + w * (t[i + 1] - t[i])
            # strength: how far it opens in the next 2 frames
            strength = (g[min(i + 2, len(g) - 1)] - lo) / rng
            ev.append((te, strength))
    j = (np.array([e[0] for e in ev]) - astart) * RATE if ev else np.array([])
    grid = np.arange(n)
    for (te, s), jj in zip(ev, j):
        sig += s * np.exp(-0.5 * ((grid - jj) / sigma) ** 2)
    mask = on_grid(times, idx, g, astart, n)[1]
    return sig, mask, len(ev)

def onset_signal(af, key='speech', sigma=2.0):
    x = mavg(af[key].astype(float), np.ones(len(af[key])), 3)
    d = np.gradient(x)
    d = np.maximum(d, 0)
    return d

def est_events(af, astart, times, idx, lf, key='gap', akey='speech', smooth=5):
    sig, m, ne = lip_release_signal(af, astart, times, idx, lf, key)
    if ne < 3:
        return None
    a = onset_signal(af, akey)
    ones = np.ones(len(a))
    return dict(whole([prep(a, ones, smooth, 41)], ones, [prep(sig, m, 1, 41)], m, nnull=12), nev=ne)

if __name__ == '__main__':
    key = sys.argv[1] if len(sys.argv) > 1 else 'gap'
    akey = sys.argv[2] if len(sys.argv) > 2 else 'speech'
    rows = []
    for cid in TALK:
        af, astart = afeat_of(cid)
        c = clip(cid)
        name, idx, lf = max(lipsets(cid), key=lambda x: len(x[1]))
        r = est_events(af, astart, c['times'], idx, lf, key, akey)
        if r is None:
            print(cid, 'no events'); continue
        print(f"  {cid:<22} {M[cid]['origin']:<9} raw {-r['lag_ms']:+7.1f} z {r['z']:5.2f} nev {r['nev']}")
        rows.append((cid, -r['lag_ms'], r['z']))
    raw = np.array([r[1] for r in rows]); z = np.array([r[2] for r in rows])
    hz = z > 2.2
    print('median raw', np.median(raw), 'IQR', np.percentile(raw, [25, 75]), 'hi-z median', np.median(raw[hz]), 'IQR', np.percentile(raw[hz], [25, 75]), 'n hi', hz.sum())
