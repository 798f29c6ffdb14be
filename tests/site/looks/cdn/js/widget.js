// A third-party widget: marks the box it was loaded into.
document.querySelectorAll(".cdn-box").forEach(function (box) { box.dataset.widget = "loaded"; });
