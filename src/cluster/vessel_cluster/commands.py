"""placeholder"""
from .util import Error


def dispatch(argv):
    raise Error("not yet")
