// Starts Swagger UI (static/vendor/swagger-ui) on /docs, from a file rather than an inline script, which the
// Content-Security-Policy refuses. Loaded with `defer` after swagger-ui-bundle.js, so the bundle is ready.
"use strict";

(function startSwaggerUi() {
  const container = document.getElementById("swagger-ui");
  if (container === null || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  // Swagger UI's stylesheet has dark colours under `html.dark-mode`: follow the reader's system, as the site does,
  // or its dark text would sit on the site's dark background.
  const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
  const followScheme = () => document.documentElement.classList.toggle("dark-mode", darkScheme.matches);
  followScheme();
  darkScheme.addEventListener("change", followScheme);
  window.SwaggerUIBundle({
    url: container.dataset.openapiUrl,
    domNode: container,
    // Each operation gets an address (/docs#/papers/...) that can be shared and survives a reload.
    deepLinking: true,
    // The token given to "Authorize" is kept in this browser's localStorage, so a reload does not ask for it again.
    persistAuthorization: true,
  });
})();
