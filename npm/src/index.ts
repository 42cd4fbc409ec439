export { Headroom, ENDPOINT, type Api, type Compressed, type Figures, type HeadroomOptions } from "./connection.js";
export { apiFor, headroomFetch, withHeadroom, type Fetch, type FetchingClient } from "./sdk.js";
export { headroomMiddleware, type HeadroomMiddleware, type HeadroomMiddlewareOptions } from "./vercel.js";
