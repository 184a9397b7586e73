from multi import *
def shape_feats(af):
    mel = af['mel']
    norm = mel - mel.mean(1, keepdims=True)
    cents = af['centers']
    p = 10 ** (mel / 10)
    sel = (cents > 150) & (cents < 3500)
    sc = (p[:, sel] * cents[sel]).sum(1) / p[:, sel].sum(1)
    return {'f1': af['f1'].astype(float), 'sc': sc,
            'r1': norm[:, 8:16].mean(1) - norm[:, 0:6].mean(1),
            'r2': norm[:, 16:26].mean(1) - norm[:, 0:6].mean(1)}

def est_shape(af, astart, times, idx, lf, lipk=('gap','outer','oarea'), ak=('f1','sc','r1','r2'), dil=0, det=41, nnull=12, maxlag=50):
    n = len(af['speech']); ones = np.ones(n)
    v = af['voiced'].astype(float)
    if dil:
        v = (np.convolve(v, np.ones(2*dil+1), 'same') > 0).astype(float)
    sf = shape_feats(af)
    asigs = [prep(sf[k], v, 5, det) for k in ak]
    ls = []; m = None
    for k in lipk:
        x, m = on_grid(times, idx, lf[k], astart, n); ls.append(prep(x, m, 5, det))
    if m.sum() < 100: return None
    # whole() with audio mask v
    def curve(ls_, lm):
        cs = [ncc(a, v, l, lm, maxlag) for a in asigs for l in ls_]
        return np.nanmean(cs, axis=0)
    cv = curve(ls, m)
    if not np.isfinite(cv).any(): return None
    i = int(np.nanargmax(cv)); lag = refine(cv, i) - maxlag
    peaks = []
    for kk in range(nnull):
        short = n < 300
        shift = kk * n // nnull if short else (kk + 1) * n // (nnull + 1)
        rev = short or kk % 2 == 1
        tr = lambda q: np.roll(q[::-1] if rev else q, shift)
        c = curve([tr(l) for l in ls], tr(m)); peaks.append(np.nanmax(c))
    peaks = np.array(peaks)
    z = (cv[i] - peaks.mean()) / max(peaks.std(ddof=1), 1e-6)
    return dict(lag_ms=lag * 10, z=z)
if __name__ == '__main__':
    import pickle, functools
    ak = tuple(sys.argv[1].split(',')) if len(sys.argv) > 1 else ('f1','sc','r1','r2')
    res = run(functools.partial(est_shape, ak=ak), only=('talk',))
    table(res, 0)
    raw = np.array([-r['lag_ms'] for r in res]); z = np.array([r['z'] for r in res])
    ok = (np.abs(raw) < 200) & (z > 2)
    print('z>2 & |raw|<200:', ok.sum(), 'median', np.median(raw[ok]), 'IQR', np.percentile(raw[ok], [25, 75]))
