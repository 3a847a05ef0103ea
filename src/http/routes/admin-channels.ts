import type { Route } from '../route.ts';
import type { ChannelStatus } from '../../providers/upstream/channel-report.ts';

/** GET /v1/admin/channels: each upstream channel's health, last error (never a secret), rests and jobs in flight (admin token). */
export function adminChannelsRoute(statuses: () => Promise<ChannelStatus[]>): Route {
  return {
    doc: {
      method: 'GET', url: '/v1/admin/channels', tag: 'Admin', auth: true,
      summary: 'Upstream channels: state (healthy, degraded, resting), rest-until, last error, models and jobs in flight (admin token)',
      responses: { 200: { description: 'Channels' } },
    },
    async handler() {
      return { object: 'list', data: await statuses() };
    },
  };
}
