// The login page: posts the token to /ui/login, which answers with the session cookie.
"use strict";
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = document.getElementById("status");
  status.textContent = "Checking...";
  try {
    const r = await fetch("/ui/login", {
      method: "POST",
      headers: { "Content-Type": "text/plain", "X-Vessel-CSRF": "1" },
      body: document.getElementById("token").value.trim(),
      credentials: "same-origin",
    });
    if (r.ok) {
      location.href = "/ui/";
      return;
    }
    status.textContent = r.status === 401 ? "Wrong token." : "Login failed (HTTP " + r.status + ").";
  } catch (e) {
    status.textContent = "The daemon did not answer: " + e;
  }
});
