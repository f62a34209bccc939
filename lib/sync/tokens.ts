// Which IC token an agent's events are sent with.
import type { SyncConfig } from './config.js'

/**
 * The token for events of `agentId`: the config's agentTokens (map or function) first, then its
 * icToken. Read at every send, so that a corrected token applies at once. Undefined when there is
 * none (an empty string counts as none); a function that throws gives none too.
 */
export function tokenFor(config: SyncConfig, agentId: string | undefined): string | undefined {
  const tokens = config.agentTokens
  let token: string | undefined
  if (typeof tokens === 'function') {
    try {
      const given = tokens(agentId)
      token = typeof given === 'string' ? given : undefined
    } catch {
      token = undefined
    }
  } else if (tokens !== undefined && agentId !== undefined && Object.hasOwn(tokens, agentId)) {
    token = tokens[agentId]
  }
  return token || config.icToken || undefined
}
