"""Who may use the app: browsers on this machine, unless CONREC_ALLOW_REMOTE=1 says otherwise.

The app shows workspaces, models and (from allowed folders) files of the machine it runs on. Streamlit binds
127.0.0.1 only when it finds this repository's .streamlit/config.toml in the folder it was started from; started
anywhere else it listens on every interface. So the check is made here, on every page, whatever the binding.
"""

from __future__ import annotations

import ipaddress
import os

import streamlit as st

REMOTE_ENV = "CONREC_ALLOW_REMOTE"


def client_allowed(address, allow_remote: bool) -> bool:
    """Whether a client at `address` may use the app (None: no network client, as in tests).

    >>> client_allowed("127.0.0.1", False), client_allowed("::1", False), client_allowed("192.168.1.7", False)
    (True, True, False)
    >>> client_allowed("192.168.1.7", True), client_allowed(None, False), client_allowed("not an address", False)
    (True, True, False)
    """
    if not isinstance(address, str) or allow_remote:  # no network client (tests give a stand-in object)
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def require_local_client() -> None:
    if not client_allowed(st.context.ip_address, os.environ.get(REMOTE_ENV) == "1"):
        st.error("conrec serves this machine's workspaces and files to browsers on this machine only. To open it "
                 f"to the network on purpose, start it with {REMOTE_ENV}=1 (and put it behind authentication).")
        st.stop()
