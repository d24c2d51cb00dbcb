/**
 * Sample objects as the reference (CarrierX Conference v2) prints them: the OpenAPI
 * examples of our schemas, and what reference.test.ts checks our answers against.
 */

/** The reference's sample Account. */
export const SAMPLE_ACCOUNT = {
  account_sid: "993a6552-b73b-41e5-a501-a788377ca8ed",
  attributes: {},
  call_flow_sid: "fb2b69b1-6998-4cdc-b04c-a267c585f767",
  date_created: "2021-02-25T20:36:54.000Z",
  login: "conference_user_123",
  name: "John Smith",
};

/** The reference's sample DID. */
export const SAMPLE_DID = {
  account_sid: "a1f38bf7-5879-49c1-be72-50ffa7f249a6",
  attributes: {},
  call_flow_sid: "fb2b69b1-6998-4cdc-b04c-a267c585f767",
  country_code: "USA",
  did_group_sid: "ea1d0f8d-4f2d-4437-a627-694a23a2d568",
  did_sid: "022aa786-2c40-484f-9a36-2a51e84579d6",
  in_country_format: "(516) 206-5919",
  international_format: "+1 516-206-5919",
  phonenumber: "15162065919",
};
