from est_base import *

def shift_pair(X, Y, m, k):
    n = len(m)
    if k >= 0:
        return X[k:], Y[:n - k], m[:n - k]
    return X[:n + k], Y[-k:], m[-k:]

def inv_sqrt(C, lam):
    d = np.diag(C).mean()
    C = (1 - lam) * C + lam * d * np.eye(len(C))
    w, V = np.linalg.eigh(C)
    return V @ np.diag(1 / np.sqrt(np.maximum(w, 1e-12))) @ V.T

def cca_curve(X, Y, m, maxlag, lam):
    out = np.full(2 * maxlag + 1, np.nan)
    for i, k in enumerate(range(-maxlag, maxlag + 1)):
        x, y, mm = shift_pair(X, Y, m, k)
        sel = mm > 0
        if sel.sum() < 50: continue
        x = x[sel]; y = y[sel]
        x = x - x.mean(0); y = y - y.mean(0)
        Cxx = x.T @ x; Cyy = y.T @ y; Cxy = x.T @ y
        A = inv_sqrt(Cxx, lam) @ Cxy @ inv_sqrt(Cyy, lam)
        out[i] = np.linalg.svd(A, compute_uv=False)[0]
    return out

def afeat_matrix(af, groups):
    mel = af['mel']
    cols = []
    for g in groups:
        if isinstance(g, str):
            cols.append(af[g].astype(float))
        else:
            cols.append(mel[:, g[0]:g[1]].mean(1))
    return np.stack(cols, 1)

MEL8 = [(0,5),(5,10),(10,15),(15,20),(20,25),(25,30),(30,35),(35,40)]
LIPK = ['gap', 'outer', 'width', 'area', 'jaw']

def est_cca(af, astart, times, idx, lf, groups=MEL8, lipk=LIPK, lam=0.3, nnull=12, maxlag=50, det=41):
    n = len(af['speech']); ones = np.ones(n)
    X = np.stack([prep(c, ones, 5, det) for c in afeat_matrix(af, groups).T], 1)
    cols = []; m = None
    for k in lipk:
        v, m = on_grid(times, idx, lf[k], astart, n)
        cols.append(prep(v, m, 5, det))
    Y = np.stack(cols, 1)
    if m.sum() < 100: return None
    cv = cca_curve(X, Y, m, maxlag, lam)
    if not np.isfinite(cv).any(): return None
    i = int(np.nanargmax(cv)); lag = refine(cv, i) - maxlag
    peaks = []
    for kk in range(nnull):
        short = n < 300
        shift = kk * n // nnull if short else (kk + 1) * n // (nnull + 1)
        rev = short or kk % 2 == 1
        tr = lambda v: np.roll(v[::-1] if rev else v, shift, axis=0)
        c = cca_curve(X, tr(Y), tr(m), maxlag, lam)
        peaks.append(np.nanmax(c))
    peaks = np.array(peaks)
    z = (cv[i] - peaks.mean()) / max(peaks.std(ddof=1), 1e-6)
    return dict(lag_ms=lag * 10, z=z, peak=cv[i])

if __name__ == '__main__':
    import pickle, functools
    lam = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    res = run(functools.partial(est_cca, lam=lam))
    pickle.dump(res, open(f'{D}/res_cca_{lam}.pkl', 'wb'))
    for z in (1.5, 2.0, 2.2, 2.5, 3.0):
        summarize(res, z, 60)
    table(res, 60)
