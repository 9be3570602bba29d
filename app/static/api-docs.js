// Haven's API documentation: Swagger UI over /api/v1/openapi.json, every file served by
// Haven itself. No URL parameters are read (queryConfigEnabled: false), so a link cannot
// point the page at another description, and no validator badge is fetched from elsewhere.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#api-docs",
  queryConfigEnabled: false,
  validatorUrl: null,
  deepLinking: false,
  tryItOutEnabled: false,
  supportedSubmitMethods: [],
});
