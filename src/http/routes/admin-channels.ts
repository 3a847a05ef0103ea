import { z } from 'zod';
import type { Route, SameShape } from '../route.ts';
import type { ChannelStatus } from '../../providers/upstream/channel-report.ts';

const ChannelList = z.object({
  object: z.literal('list'),
  data: z.array(z.object({
    name: z.string(), provider: z.string(), priority: z.number(), weight: z.number(),
    state: z.enum(['healthy', 'resting', 'degraded']).describe('resting: the whole channel; degraded: some of its models rest'),
    rest_until: z.string().nullable().describe('ISO 8601'),
    last_error: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable().describe('Never carries a secret'),
    models: z.array(z.object({ model: z.string(), upstream_model: z.string(), resting_until: z.string().nullable(), last_error: z.string().nullable() }))
      .describe('Public model → the upstream id this channel calls for it'),
    in_flight: z.number().int(),
  })),
});

export const CHANNEL_LIST_MATCHES: SameShape<z.infer<typeof ChannelList>['data'][number], ChannelStatus> = true;

/** GET /v1/admin/channels: each upstream channel's health, last error (never a secret), rests and jobs in flight (admin token). */
export function adminChannelsRoute(statuses: () => Promise<ChannelStatus[]>): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/admin/channels', tag: 'Admin', auth: 'admin',
      summary: 'Upstream channels: state (healthy, degraded, resting), rest-until, last error, models and jobs in flight (admin token)',
      responses: { 200: { description: 'Channels', schema: ChannelList } },
    },
    async handler() {
      return { object: 'list', data: await statuses() };
    },
  };
}
