#!/usr/bin/python3
"""faiss spherical k-means on the same .npy as CoresetBench, at equal iterations, for the objective/time comparison.
Usage: faiss_kmeans.py FEATURES.npy K ITERATIONS   (Debian: apt-get install python3-faiss)"""
import resource, sys, time
import faiss
import numpy as np

path, k, niter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.load(path, mmap_mode="r").astype(np.float32)
faiss.normalize_L2(x)
start = time.time()
cpu = time.process_time()
km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=1234, spherical=True, verbose=False, max_points_per_centroid=x.shape[0])
km.train(x)
train = time.time() - start
# The final assignment against the final centroids, as the reference does after training (and as stella's last pass does).
start = time.time()
index = faiss.IndexFlatIP(x.shape[1])
index.add(km.centroids)
sims, _ = index.search(x, 1)
search = time.time() - start
cpu = time.process_time() - cpu
print(f"faiss {faiss.__version__}: {faiss.omp_get_max_threads()} threads, train {train:.3f} s + final assignment {search:.3f} s = {train + search:.3f} s (CPU {cpu:.3f} s), "
      f"objective (mean cosine) {sims.mean():.5f}, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
