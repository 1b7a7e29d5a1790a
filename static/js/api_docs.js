// Starts Swagger UI on /docs (a static file: the Content-Security-Policy allows no inline script).
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
});
