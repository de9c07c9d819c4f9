"""McpUser calling the echo tool over a chosen transport (variants ``mcp-ghc``
and ``mcp-h1`` of ``bench_user_cost.py``).

Each class pins its transport, whatever McpUser picks by default, so the
two HTTP drivers can be compared side by side with everything else equal.
Run one class at a time: ``locust -f this_file McpGhcUser``.
"""

from locust.env import Environment
from mcp_tools import McpToolsUser

from loadgen import options
from loadgen.transport.gevent_h1 import GeventH1Transport
from loadgen.transport.gevent_http import GeventHttpTransport
from loadgen.transport.messages import Transport


def use_transport(user: McpToolsUser, transport: Transport) -> None:
    """Put ``transport`` under the user's client, wrapped by its call hooks."""
    user.transport.close()
    hooks = user.call_hooks
    user.transport = transport if hooks is None else hooks.wrap_transport(transport)
    user.client.transport = user.transport


def timeout_s(environment: Environment) -> float:
    return float(options.option(environment, "mcp_timeout", 30.0))


class McpGhcUser(McpToolsUser):
    """McpToolsUser on geventhttpclient (GeventHttpTransport)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        assert self.host is not None
        use_transport(
            self, GeventHttpTransport(self.host, timeout_s=timeout_s(environment))
        )


class McpH1User(McpToolsUser):
    """McpToolsUser on plain gevent sockets and the h1 parser."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        assert self.host is not None
        use_transport(
            self, GeventH1Transport(self.host, timeout_s=timeout_s(environment))
        )
