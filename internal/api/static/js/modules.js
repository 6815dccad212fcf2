// modules.js: the dashboard's views and org-page sections. Each module
// registers itself (router.registerView, org.registerOrgSection); adding
// one is one import line here. Order matters only for sections of equal
// `order`.

import './home.js';
import './user.js';
import './search.js';
import './org.js';
import './org-health.js';
import './org-activity.js';
import './org-users.js';
import './org-attacks.js';
import './org-contacts.js';
import './actions-hook.js';
