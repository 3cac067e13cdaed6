import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` (scripts/dev.mjs) sets API_URL to the API server started beside Vite.
const api = process.env.API_URL ?? "http://localhost:3000";

export default defineConfig({
  root: "src/web",
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "../../dist/web",
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // The libraries every page needs change less often than the app: a separate,
        // long-cached chunk. The rest (Radix dialogs, selects, the QR code library…) goes with
        // the lazily loaded pages that use them (src/web/App.tsx).
        codeSplitting: {
          groups: [
            {
              name: "vendor",
              test: /node_modules[\\/](react|react-dom|scheduler|react-router|@tanstack|i18next|react-i18next)[\\/]/,
            },
          ],
        },
      },
    },
  },
  server: {
    // xfwd: the API sees who the browser is (X-Forwarded-For), so with `vite --host` another
    // machine reaching Vite still cannot use the development tools (src/server/http/dev-tools.ts).
    proxy: {
      "/api": { target: api, xfwd: true },
      "/dev/mailbox": { target: api, xfwd: true },
      "/docs": { target: api, xfwd: true },
    },
  },
});
