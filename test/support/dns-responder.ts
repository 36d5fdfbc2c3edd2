// A tiny authoritative DNS server on loopback UDP, for tests of name resolution: it answers A
// queries for the names it was given and NXDOMAIN for everything else. Packets are encoded and
// decoded by `dns-packet`.
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';

export interface DnsResponder {
  /** `127.0.0.1:PORT`, for `Resolver#setServers`. */
  readonly server: string;
  /** How many queries were answered, by name (lowercase). */
  readonly queries: Map<string, number>;
  close(): Promise<void>;
}

export async function startDnsResponder(records: Record<string, string>): Promise<DnsResponder> {
  const table = new Map(Object.entries(records).map(([name, address]) => [name.toLowerCase(), address]));
  const queries = new Map<string, number>();
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch (error) {
      console.error('[dns responder] undecodable packet', error);
      return;
    }
    const question = query.questions?.[0];
    const name = question?.name.toLowerCase() ?? '';
    queries.set(name, (queries.get(name) ?? 0) + 1);
    const address = table.get(name);
    const answers: dnsPacket.Answer[] =
      question && question.type === 'A' && address ? [{ type: 'A', name: question.name, ttl: 5, data: address }] : [];
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      // Authoritative answer + recursion desired/available; rcode NXDOMAIN (3) for unknown names.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (address ? 0 : 3),
      questions: query.questions,
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
