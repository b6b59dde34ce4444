/**
 * The gRPC target for `STUPID_MODAL_SERVER`: one `host:port` as it is; several comma-separated
 * addresses (the nodes of a cluster) as one channel balancing calls round-robin over them, with
 * keepalive pings so a node that stops answering is noticed; `dns:NAME:PORT` to round-robin over
 * every address a name resolves to.
 */
import { isIP } from "node:net";
import type { ChannelOptions } from "@grpc/grpc-js";

/** A channel's target and the options it needs. */
export interface ChannelTarget {
  target: string;
  /** The hosts named, without ports (for TLS identity checks). */
  hosts: string[];
  options: ChannelOptions;
}

/** Round-robin over the resolved addresses, and keepalive pings while calls are open. */
const balanced: ChannelOptions = {
  "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
};

/**
 * Turns a server setting into a gRPC target.
 *
 * @example
 * ```ts
 * channelTarget("127.0.0.2:50051,127.0.0.3:50051").target; // "ipv4:127.0.0.2:50051,127.0.0.3:50051"
 * ```
 */
export function channelTarget(server: string): ChannelTarget {
  if (server.startsWith("dns:")) {
    const host = server.slice(4).replace(/^\/\/\//, "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    return { target: server, hosts: [host], options: balanced };
  }
  const addresses = server.split(",").map((address) => address.trim()).filter(Boolean);
  if (addresses.length <= 1) {
    return { target: server, hosts: [hostOf(server)], options: {} };
  }
  const hosts = addresses.map(hostOf);
  const family = hosts.every((host) => isIP(host) === 4)
    ? "ipv4"
    : hosts.every((host) => isIP(host) === 6)
    ? "ipv6"
    : "";
  if (!family) {
    throw new TypeError(
      `STUPID_MODAL_SERVER lists several addresses, which must all be IPv4 or all IPv6 addresses with ports ` +
        `(got "${server}"); for host names, use one DNS name that resolves to every node: dns:NAME:PORT`,
    );
  }
  return { target: `${family}:${addresses.join(",")}`, hosts, options: balanced };
}

function hostOf(address: string): string {
  return address.trim().replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
}
