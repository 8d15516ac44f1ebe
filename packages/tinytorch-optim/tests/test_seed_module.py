"""The seed module `tinytorch.core.optimizers` is aliases of tinytorch.optim, never a second implementation."""


def test_seed_module_is_aliases_only():
    import tinytorch.core.optimizers as seed
    import tinytorch.optim as optim

    for name in optim.__all__:
        assert getattr(seed, name) is getattr(optim, name), name
