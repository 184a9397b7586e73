from cca import *
def est_multi(af, astart, times, idx, lf, lipk=('gap','outer','oarea'), ak=('speech','formant','f1', (10,20), (20,30)), maxlag=50, nnull=12, det=41):
    n = len(af['speech']); ones = np.ones(n)
    X = afeat_matrix(af, ak)
    asigs = [prep(c, ones, 5, det) for c in X.T]
    ls = []; m = None
    for k in lipk:
        v, m = on_grid(times, idx, lf[k], astart, n); ls.append(prep(v, m, 5, det))
    if m.sum() < 100: return None
    return whole(asigs, ones, ls, m, maxlag=maxlag, nnull=nnull)
if __name__ == '__main__':
    import pickle
    res = run(est_multi)
    pickle.dump(res, open(f'{D}/res_multi.pkl', 'wb'))
    for z in (1.5, 2.0, 2.2, 2.5, 3.0):
        summarize(res, z, 60)
    table(res, 60)
