// An app shell: the story comes as JSON and is written into the page, and a box of
// related stories is loaded beside it.
(function () {
  var story = new URLSearchParams(location.search).get("story") || "lighthouse";
  fetch("api/" + story + ".json")
    .then(function (response) { return response.json(); })
    .then(function (data) {
      document.title = data.title + " | The Looking Glass";
      var article = document.createElement("article");
      var heading = document.createElement("h1");
      heading.textContent = data.title;
      article.appendChild(heading);
      var byline = document.createElement("p");
      byline.className = "byline";
      byline.textContent = "By " + data.author;
      article.appendChild(byline);
      data.paragraphs.forEach(function (text) {
        var p = document.createElement("p");
        p.textContent = text;
        article.appendChild(p);
      });
      var img = document.createElement("img");
      img.src = data.image;
      img.width = 400;
      img.height = 225;
      article.appendChild(img);
      var app = document.getElementById("app");
      app.innerHTML = "";
      app.appendChild(article);
    });
  var xhr = new XMLHttpRequest();
  xhr.open("GET", "api/related.json");
  xhr.onload = function () {
    var list = document.createElement("ul");
    JSON.parse(xhr.responseText).forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item;
      list.appendChild(li);
    });
    document.getElementById("related").appendChild(list);
  };
  xhr.send();
})();
