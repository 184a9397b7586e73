from est_base import *
import itertools
def deriv(x):
    d = np.gradient(x)
    return d

def lip_sig(af, astart, times, idx, lf, k):
    n = len(af['speech'])
    if k.startswith('d'):
        v, m = on_grid(times, idx, lf[k[1:]], astart, n)
        v = mavg(v, m, 5)
        return np.where(m > 0, deriv(v), 0), m
    v, m = on_grid(times, idx, lf[k], astart, n)
    return v, m

def aud_sig(af, k):
    if k.startswith('d'):
        return deriv(mavg(af[k[1:]].astype(float), np.ones(len(af['speech'])), 5))
    if k.startswith('mel'):
        lo, hi = map(int, k[3:].split('-'))
        return af['mel'][:, lo:hi].mean(1)
    return af[k].astype(float)

LIPS = sys.argv[1].split(',')
AUDS = sys.argv[2].split(',')
DET = int(sys.argv[3]) if len(sys.argv) > 3 else 41
rows = {}
for cid in TALK:
    af, astart = afeat_of(cid)
    c = clip(cid)
    name, idx, lf = lipsets(cid)[0] if len(lipsets(cid)) == 1 else max(lipsets(cid), key=lambda x: len(x[1]))
    n = len(af['speech']); ones = np.ones(n)
    for lk, ak in itertools.product(LIPS, AUDS):
        l, m = lip_sig(af, astart, c['times'], idx, lf, lk)
        a = aud_sig(af, ak)
        r = whole([prep(a, ones, 5, DET)], ones, [prep(l, m, 5 if not lk.startswith('d') else 1, DET)], m, nnull=12)
        rows.setdefault((lk, ak), []).append((cid, -r['lag_ms'], r['z']))
for (lk, ak), v in rows.items():
    raw = np.array([x[1] for x in v]); z = np.array([x[2] for x in v])
    real = np.array([M[x[0]]['origin'] == 'real' for x in v]); gen = np.array([M[x[0]]['origin'] == 'generated' for x in v])
    ok = np.abs(raw) < 250
    med = np.median(raw[ok])
    w40 = np.sum(ok & (np.abs(raw - med) <= 40) & (z > 2.2))
    print(f"{lk:>7} {ak:>9}: raw med {med:+6.1f} IQR {np.percentile(raw[ok],25):+6.1f}..{np.percentile(raw[ok],75):+6.1f} real {np.median(raw[real & ok]):+6.1f} gen {np.median(raw[gen & ok]):+6.1f} | z med {np.median(z):4.2f} z>2.2 {np.sum(z>2.2):2d} | w40(med,z) {w40}")
