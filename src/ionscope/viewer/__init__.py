"""The local browser viewer (ionscope view): a token-protected server and offline assets.

The server only reads, but for the scribble label files drawn in it (:mod:`ionscope.viewer.scribble`).

>>> from ionscope.viewer import make_server
>>> server = make_server(["cross_section.zarr"])     # doctest: +SKIP
>>> print(server.url); server.serve_forever()        # doctest: +SKIP
"""

from ionscope.viewer.catalogue import Catalogue, Entry
from ionscope.viewer.server import ViewerServer, decode_image, encode_image, make_server, serve_in_thread

__all__ = ["Catalogue", "Entry", "ViewerServer", "decode_image", "encode_image", "make_server", "serve_in_thread"]
