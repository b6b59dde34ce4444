/** The dashboard's browser entry: runs the page the server named in `<body data-page>`. */
import { appsPage } from "./apps_page.ts";
import { callPage } from "./call_page.ts";
import { callsPage } from "./calls_page.ts";
import { executorsPage } from "./executors_page.ts";
import { logsPage } from "./logs_page.ts";
import { overviewPage } from "./overview_page.ts";
import { fill, h } from "./dom.ts";

const root = document.getElementById("page");
const { page = "", param = "" } = document.body.dataset;

if (root) {
  switch (page) {
    case "overview":
      overviewPage(root);
      break;
    case "apps":
      appsPage(root);
      break;
    case "calls":
      callsPage(root);
      break;
    case "call":
      callPage(root, param);
      break;
    case "executors":
      executorsPage(root);
      break;
    case "logs":
      logsPage(root, param);
      break;
    default:
      root.setAttribute("aria-busy", "false");
      fill(root, h("p", {}, "Nothing is here. "), h("a", { href: "/" }, "Back to the overview"));
      document.getElementById("live-status")?.replaceChildren();
  }
}
