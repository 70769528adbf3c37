"""Multivariate analysis (PCA, NMF, MCR-ALS, clustering) with Poisson scaling, in memory or out of core."""
