from est_base import *

def crossings(t, g, thr, up):
    out = []
    for i in range(len(g) - 1):
        if t[i+1] - t[i] > 0.1: continue
        if up and g[i] < thr <= g[i+1] or (not up and g[i] >= thr > g[i+1]):
            w = (thr - g[i]) / (g[i+1] - g[i]); out.append(t[i] + w * (t[i+1] - t[i]))
    return np.array(out)

def acoustic_edges(ta, e, up, min_jump=10.0):
    """times where smoothed log energy e rises (up) / falls by >= min_jump dB within 50 ms; mid-crossing."""
    out = []
    n = len(e)
    i = 0
    d = e[5:] - e[:-5]
    cand = np.where(d >= min_jump)[0] if up else np.where(d <= -min_jump)[0]
    # group consecutive
    groups = np.split(cand, np.where(np.diff(cand) > 1)[0] + 1) if len(cand) else []
    for gp in groups:
        if not len(gp): continue
        lo = gp[0]; hi = min(gp[-1] + 5, n - 1)
        mid = (e[lo] + e[hi]) / 2
        seg = e[lo:hi+1]
        k = np.where(seg >= mid)[0] if up else np.where(seg <= mid)[0]
        if len(k) == 0: continue
        j = lo + k[0]
        if j == 0: continue
        w = (mid - e[j-1]) / (e[j] - e[j-1] + 1e-12)
        out.append(ta[j-1] + w * (ta[j] - ta[j-1]))
    return np.array(out)

band = sys.argv[1] if len(sys.argv) > 1 else 'hi'
for cid in TALK:
    af, astart = afeat_of(cid); c = clip(cid)
    name, idx, lf = max(lipsets(cid), key=lambda x: len(x[1]))
    t = c['times'][idx]; g = lf['gap']
    lo, hi = np.percentile(g, 5), np.percentile(g, 95)
    thr = lo + 0.25 * (hi - lo)
    ta = astart + np.arange(len(af['speech'])) / RATE
    e = {'hi': af['mel'][:, 22:40].mean(1), 'sp': af['speech'], 'all': af['mel'].mean(1)}[band]
    e = mavg(e, np.ones(len(e)), 3)
    res = []
    for up in (True, False):
        lt = crossings(t, g, thr, up)
        at = acoustic_edges(ta, e, up)
        d = []
        for x in lt:
            if len(at) == 0: break
            j = np.argmin(np.abs(at - x))
            if abs(at[j] - x) < 0.15: d.append(at[j] - x)
        d = np.array(d) * 1000
        res.append((len(lt), len(d), np.median(d) if len(d) else np.nan, np.percentile(d, 25) if len(d) else np.nan, np.percentile(d, 75) if len(d) else np.nan))
    print(f"{cid:<22} {M[cid]['origin']:<9} open: n{res[0][0]:3d} m{res[0][1]:3d} med {res[0][2]:+6.0f} [{res[0][3]:+5.0f},{res[0][4]:+5.0f}]  close: n{res[1][0]:3d} m{res[1][1]:3d} med {res[1][2]:+6.0f} [{res[1][3]:+5.0f},{res[1][4]:+5.0f}]")
