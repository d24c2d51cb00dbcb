/**
 * @conf/outbound: which hosts tenants may make the service send to. One classifier for
 * the API (when an address is set) and the mixer (when it sends, after DNS).
 */
export { ADDRESS_CLASSES, type AddressClass, classifyIp, type Ip, parseIp, parseIpv4, parseIpv6, sameIp } from "./address.ts";
export {
  type AllowEntry,
  type CheckedHost,
  checkHost,
  checkResolved,
  checkSipAddress,
  checkUrl,
  type OutboundPolicy,
  type OutboundPolicyInput,
  parseAllowEntry,
  parseOutboundPolicy,
  type Result,
  STRICT_POLICY,
  sipAddressHost,
} from "./policy.ts";
