from exp import *
MAXLAG = 50
NULL = 24

def whole(asigs, amask, lsigs, lmask, maxlag=MAXLAG, nnull=NULL, combine='mean'):
    def curve(ls, lm):
        cs = [ncc(a, amask, l, lm, maxlag) for a in asigs for l in ls]
        return np.nanmean(cs, axis=0) if combine == 'mean' else combine(cs)
    cv = curve(lsigs, lmask)
    if not np.isfinite(cv).any():
        return None
    i = int(np.nanargmax(cv))
    lag = refine(cv, i) - maxlag
    n = len(lmask)
    peaks = []
    for k in range(nnull):
        short = n < 300
        shift = k * n // nnull if short else (k + 1) * n // (nnull + 1)
        rev = short or k % 2 == 1
        tr = lambda v: np.roll(v[::-1] if rev else v, shift)
        c = curve([tr(l) for l in lsigs], tr(lmask))
        peaks.append(np.nanmax(c) if np.isfinite(c).any() else 0)
    peaks = np.array(peaks)
    z = (cv[i] - peaks.mean()) / max(peaks.std(ddof=1), 1e-6)
    return dict(lag_ms=lag * 10, z=z, peak=cv[i], curve=cv, edge=i in (0, len(cv)-1))

def base(af, astart, times, idx, lf, feats=('gap',), afeats=('speech', 'formant', 'f1')):
    n = len(af['speech'])
    ones = np.ones(n)
    asigs = [prep(af[k].astype(float), ones) for k in afeats]
    ls = []; lm = None
    for k in feats:
        v, m = on_grid(times, idx, lf[k], astart, n)
        lm = m
        ls.append(prep(v, m))
    if lm.sum() < 100 or np.std(lf['gap']) < 0.005:
        return None
    return whole(asigs, ones, ls, lm)

if __name__ == '__main__':
    import time
    t = time.time()
    res = run(base)
    print('took', time.time() - t)
    import pickle; pickle.dump(res, open(f'{D}/res_base.pkl', 'wb'))
    for z in (2.2,):
        summarize(res, z, 60)
    table(res, 60)
