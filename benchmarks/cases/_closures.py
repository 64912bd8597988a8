"""The (fwd, bwd, both, check) closures that conv and norm build for each library.

"bwd" is ``out.backward(grad, retain_graph=True)`` on one graph built here, "both" a
fresh forward and backward; both reset the leaves' ``.grad`` first, so every sample
does the same work. "check" runs "both" and returns the forward's output and the
gradients, for the agreement check against the reference library.
"""


def backward_closures(fwd, op, params, grad):
    """(fwd, bwd, both, check) for ``op()`` (the forward on leaves requiring grad).

    ``params`` are those leaves in the order ``check`` reports their gradients; None
    stands for an absent one (a bias-free conv) and is reported as None.
    """
    leaves = tuple(t for t in params if t is not None)
    graph = op()

    def bwd():
        for t in leaves:
            t.grad = None
        graph.backward(grad, retain_graph=True)

    def both():
        for t in leaves:
            t.grad = None
        op().backward(grad)

    def check():
        both()
        return [fwd(), *(None if t is None else t.grad for t in params)]

    return fwd, bwd, both, check
